"""Stream work that must not be lost: the feed backfill of a new cell (defect 8) and the redrive
of stream batches that exhausted their retries (defect 3), on moto."""

from __future__ import annotations

import io
import json

import pytest

from appx_common.config import RegionConfig
from appx_common.feed_backfill import backfill_feed
from appx_common.store import Store
from appx_common import stream_redrive
from appx_common.stream_redrive import FailedBatch, feed_rederiver, lambda_invoker, redrive_stream_failures, stream_reader
from tests.functions.conftest import REGION


@pytest.fixture
def author(world):
    r = world.signup()
    assert r.status == 201, r
    return r.json


def post(world, author, text):
    r = world.request("POST", "/v1/posts", {"text": text}, token=author["token"])
    assert r.status == 201, r
    return r.json["postId"]


def store(world) -> Store:
    return Store(RegionConfig.from_env(world.env, "appx-test"), world.ddb)


def feed(world) -> dict[str, dict]:
    return {i["postId"]: i for i in world.ddb.Table("appx-feed").scan()["Items"]}


# ---- backfill ------------------------------------------------------------------------------
def test_backfill_projects_the_posts_a_new_cells_stream_never_delivered(world, author):
    ids = {post(world, author, f"post {i}") for i in range(3)}
    assert feed(world) == {}  # nothing delivered: a new cell's feed
    summary = backfill_feed(store(world), page_size=2)  # several scan pages
    assert summary == {"scanned": 3, "projected": 3, "skippedErased": 0, "withdrawn": 0}
    entries = feed(world)
    assert set(entries) == ids
    assert all("authorId" not in e for e in entries.values())
    assert backfill_feed(store(world))["projected"] == 3 and feed(world) == entries  # idempotent


def test_backfill_skips_posts_of_erased_authors(world, author):
    post(world, author, "to be erased")
    author_id = world.ddb.Table("appx-posts").scan()["Items"][0]["authorId"]
    store(world).mark_author_erased(author_id)  # what the stream consumer does on the profile's REMOVE
    summary = backfill_feed(store(world))
    assert summary["skippedErased"] == 1 and summary["projected"] == 0 and feed(world) == {}


def test_backfill_withdraws_an_entry_whose_post_was_erased_while_copied(world, author):
    post_id = post(world, author, "erased mid-copy")
    s = store(world)
    put = s.put_feed_entry

    def put_then_erase(item):
        put(item)
        s.posts.delete_item(Key={"pk": item["pk"], "sk": item["sk"]})  # erasure lands right after our write

    s.put_feed_entry = put_then_erase
    summary = backfill_feed(s)
    assert summary["withdrawn"] == 1 and post_id not in feed(world)


# ---- stream redrive ------------------------------------------------------------------------
def failure_queue(world) -> str:
    return world.sqs.create_queue(QueueName="appx-stream-failures")["QueueUrl"]


def fail_batch(world, queue_url, table, records) -> None:
    """What Lambda sends the on-failure destination once a batch exhausted its retries."""
    arn = world.ddb.meta.client.describe_table(TableName=table)["Table"]["LatestStreamArn"]
    shard = world.streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    sequence = [r["dynamodb"]["SequenceNumber"] for r in records]
    world.sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps({
        "requestContext": {"functionArn": f"arn:aws:lambda:{REGION}:123456789012:function:appx-stream",
                           "condition": "RetryAttemptsExhausted", "approximateInvokeCount": 6},
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "version": "1.0", "timestamp": "2026-12-01T04:00:00.000Z",
        "DDBStreamBatchInfo": {"shardId": shard, "startSequenceNumber": sequence[0], "endSequenceNumber": sequence[-1],
                               "batchSize": len(records), "streamArn": arn},
    }))


class LambdaService:
    """Lambda's Invoke for the stream function, running the real handler in-process."""

    def __init__(self, handler, error: bool = False):
        self.handler, self.error, self.events = handler, error, []

    def invoke(self, FunctionName, Payload):
        event = json.loads(Payload)
        self.events.append(event)
        if self.error:
            return {"StatusCode": 200, "FunctionError": "Unhandled", "Payload": io.BytesIO(b'{"errorMessage":"boom"}')}
        return {"StatusCode": 200, "Payload": io.BytesIO(json.dumps(self.handler(event, None)).encode())}


def queued(world, queue_url) -> int:
    attrs = world.sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])
    return sum(int(v) for v in attrs["Attributes"].values())


def test_a_failed_posts_batch_is_read_again_and_reprocessed_through_the_stream_function(world, author):
    post_ids = {post(world, author, "first"), post(world, author, "second")}
    records = world._read_stream("appx-posts")  # the batch the mapping gave up on
    queue_url = failure_queue(world)
    fail_batch(world, queue_url, "appx-posts", records)
    service = LambdaService(world.stream)
    summary = redrive_stream_failures(world.sqs, queue_url, stream_reader(world.streams, REGION),
                                      lambda_invoker(service, "appx-stream"), feed_rederiver(store(world)))
    assert summary["reprocessed"] == 1 and summary["expired"] == [] and summary["failed"] == 0
    assert set(feed(world)) == post_ids
    (event,) = service.events
    assert [r["dynamodb"]["SequenceNumber"] for r in event["Records"]] == [r["dynamodb"]["SequenceNumber"] for r in records]
    assert all(r["eventSourceARN"].endswith(records[0]["eventSourceARN"].split(":table/")[1]) for r in event["Records"])
    assert queued(world, queue_url) == 0


def test_a_batch_that_fails_again_stays_in_the_queue(world, author):
    post(world, author, "still failing")
    queue_url = failure_queue(world)
    fail_batch(world, queue_url, "appx-posts", world._read_stream("appx-posts"))
    summary = redrive_stream_failures(world.sqs, queue_url, stream_reader(world.streams, REGION),
                                      lambda_invoker(LambdaService(world.stream, error=True), "appx-stream"), feed_rederiver(store(world)))
    assert summary["failed"] == 1 and summary["reprocessed"] == 0
    assert queued(world, queue_url) == 1 and feed(world) == {}


def expired(batch: FailedBatch):
    raise stream_redrive.Expired(batch.as_dict())


def test_an_expired_posts_batch_is_rederived_by_rebuilding_the_feed(world, author):
    post_id = post(world, author, "older than a day")
    queue_url = failure_queue(world)
    fail_batch(world, queue_url, "appx-posts", world._read_stream("appx-posts"))
    service = LambdaService(world.stream)
    summary = redrive_stream_failures(world.sqs, queue_url, expired, lambda_invoker(service, "appx-stream"), feed_rederiver(store(world)))
    assert summary["rederived"] == 1 and service.events == []
    assert set(feed(world)) == {post_id} and queued(world, queue_url) == 0


def test_an_expired_erasure_batch_is_reported_and_kept(world, author, capsys):
    r = world.request("DELETE", "/v1/me", token=author["token"])
    assert r.status in (200, 202, 204), r
    queue_url = failure_queue(world)
    fail_batch(world, queue_url, "appx-restricted-eu", world._read_stream("appx-restricted-eu"))
    summary = redrive_stream_failures(world.sqs, queue_url, expired, lambda_invoker(LambdaService(world.stream), "appx-stream"),
                                      feed_rederiver(store(world)))
    assert [e["table"] for e in summary["expired"]] == ["appx-restricted-eu"] and summary["rederived"] == 0
    assert queued(world, queue_url) == 1


def test_the_command_exits_zero_only_when_nothing_is_left(world, author, capsys):
    post(world, author, "p")
    records = world._read_stream("appx-posts")
    clients = {"sqs": world.sqs, "dynamodbstreams": world.streams, "lambda": LambdaService(world.stream), "dynamodb": world.ddb}
    done = failure_queue(world)
    fail_batch(world, done, "appx-posts", records)
    assert stream_redrive.main(["--queue", done, "--region", REGION], clients=clients) == 0
    assert json.loads(capsys.readouterr().out)["reprocessed"] == 1

    left = world.sqs.create_queue(QueueName="appx-stream-failures-2")["QueueUrl"]
    fail_batch(world, left, "appx-posts", records)
    world.sqs.send_message(QueueUrl=left, MessageBody="not an invocation record")
    clients["lambda"] = LambdaService(world.stream, error=True)
    assert stream_redrive.main(["--queue", left, "--region", REGION], clients=clients) == 1
    summary = json.loads(capsys.readouterr().out)
    assert summary["failed"] == 1 and summary["unreadable"] == 1
