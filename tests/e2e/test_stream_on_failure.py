"""A stream record that keeps failing is not dropped: after the mapping's retries it lands in the
region's on-failure queue (Lambda's invocation record, no content), and once the cause is fixed
`tools.redrive stream` re-processes it through the stream function. In-process runtime, the real
functions, a stream function that fails while told to."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from components.config import DEAD_LETTER_RETENTION_SECONDS, STREAM_MAX_RETRY_ATTEMPTS
from tools.local import aws, functions
from tools.local.runtime import Options, Runtime

ROOT = Path(__file__).resolve().parents[2]
REGION = "eu-west-3"


class BrokenStream:
    """The real stream function, failing every posts record while `broken` (a bug, an outage)."""

    def __init__(self, env):
        self.real = functions.make(ROOT, "stream", env)
        self.broken = True
        self.calls = 0

    def __call__(self, event, context):
        self.calls += 1
        posts = [r for r in event["Records"] if ":table/appx-posts/" in r["eventSourceARN"]]
        if self.broken and posts:
            return {"batchItemFailures": [{"itemIdentifier": posts[0]["dynamodb"]["SequenceNumber"]}]}
        return self.real(event, context)


@pytest.fixture(scope="module")
def rt(tmp_path_factory):
    made: dict[str, BrokenStream] = {}

    def stream(env):
        made[env["APPX_REGION"]] = BrokenStream(env)
        return made[env["APPX_REGION"]]

    runtime = Runtime(ROOT, Options(state_dir=tmp_path_factory.mktemp("on-failure"), stream_poll_s=0.02,
                                    handler_factories={"stream": stream})).start()
    runtime.broken_streams = made
    try:
        yield runtime
    finally:
        runtime.stop()


def messages(rt, region):
    sqs = aws.client("sqs", region, rt.moto.url)
    url = rt.queues[region]["streamFailureQueueUrl"]
    found = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0).get("Messages", [])
    return [json.loads(m["Body"]) for m in found]


def feed_posts(region):
    return {i["postId"]["S"] for i in aws.table_items(region, "appx-feed")}


def test_an_exhausted_stream_record_lands_in_the_on_failure_queue_and_is_redriven(rt):
    ddb = aws.client("dynamodb", REGION, rt.moto.url)
    post = {"pk": {"S": "POST#p_local1"}, "sk": {"S": "POST"}, "postId": {"S": "p_local1"}, "text": {"S": "hello"},
            "createdAt": {"S": "2026-12-01T04:00:00.000Z"}, "authorId": {"S": "a_local1"}}
    ddb.put_item(TableName="appx-posts", Item=post)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and not messages(rt, REGION):
        time.sleep(0.05)
    (record,) = messages(rt, REGION)
    assert record["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == STREAM_MAX_RETRY_ATTEMPTS + 1
    info = record["DDBStreamBatchInfo"]
    assert ":table/appx-posts/stream/" in info["streamArn"] and info["batchSize"] == 1
    assert info["startSequenceNumber"] == info["endSequenceNumber"]
    assert "hello" not in json.dumps(record) and "a_local1" not in json.dumps(record)  # pointers only
    assert rt.broken_streams[REGION].calls >= STREAM_MAX_RETRY_ATTEMPTS + 1
    assert "p_local1" not in feed_posts(REGION)
    attributes = aws.client("sqs", REGION, rt.moto.url).get_queue_attributes(
        QueueUrl=rt.queues[REGION]["streamFailureQueueUrl"], AttributeNames=["MessageRetentionPeriod"])["Attributes"]
    assert int(attributes["MessageRetentionPeriod"]) == DEAD_LETTER_RETENTION_SECONDS

    still_broken = rt.redrive_stream_failures(REGION)
    assert still_broken["failed"] == 1 and still_broken["reprocessed"] == 0

    assert len(messages(rt, REGION)) == 1  # kept, and visible again for the next run

    rt.broken_streams[REGION].broken = False
    fixed = rt.redrive_stream_failures(REGION)
    assert fixed["reprocessed"] == 1 and fixed["expired"] == []
    assert "p_local1" in feed_posts(REGION) and messages(rt, REGION) == []
