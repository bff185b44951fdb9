"""Re-process the DynamoDB stream batches that exhausted their retries.

    python -m tools.redrive stream --region eu-west-1 --queue <streamFailureQueueUrl> \
        [--function appx-stream] [--max 100] [--dry-run]

Each message of a cell's stream on-failure queue is Lambda's invocation record of one failed
batch: the stream ARN, shard id and sequence-number range (`DDBStreamBatchInfo`), not the
records. For each, the command reads that range from the stream again and invokes the stream
function with it (the same event shape Lambda sends; every step of the function is idempotent).
The message is deleted only when the function reports no failure.

Stream records live 24 hours. Once a range has expired the work is re-derived where it can be:
for the posts stream the feed projection is rebuilt from the posts replica (`feed_backfill`).
An expired range of a restricted table's stream (erasure propagation) cannot be re-derived: the
profile is gone and the record named the erased pseudonym. Such messages are reported and kept;
see README "Deploy to AWS" for what to do. Prints a JSON summary.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class FailedBatch:
    stream_arn: str
    shard_id: str
    start: str
    end: str

    @property
    def table(self) -> str:
        # arn:aws:dynamodb:<region>:<account>:table/<name>/stream/<label>
        return self.stream_arn.split(":table/", 1)[-1].split("/", 1)[0]

    def holds(self, sequence_number: str) -> bool:
        return int(self.start) <= int(sequence_number) <= int(self.end)

    def as_dict(self) -> dict:
        return {"table": self.table, "shardId": self.shard_id, "startSequenceNumber": self.start, "endSequenceNumber": self.end}


class Expired(Exception):
    """The batch's records are no longer in the stream (older than 24 hours)."""


def failed_batch(body: str) -> FailedBatch | None:
    """The batch an on-failure invocation record names; None if the message is not one."""
    try:
        info = json.loads(body)["DDBStreamBatchInfo"]
        return FailedBatch(info["streamArn"], info["shardId"], str(info["startSequenceNumber"]), str(info["endSequenceNumber"]))
    except (ValueError, KeyError, TypeError):
        return None


ReadBatch = Callable[[FailedBatch], list]  # -> Lambda event records, or raises Expired
Invoke = Callable[[list], list]  # records -> sequence numbers the function reported failed
Rederive = Callable[[str], bool]  # table name -> True when the work was re-derived


def redrive_stream_failures(sqs, queue_url: str, read_batch: ReadBatch, invoke: Invoke, rederive: Rederive,
                            max_messages: int = 100, dry_run: bool = False) -> dict:
    summary: dict = {"seen": 0, "reprocessed": 0, "rederived": 0, "failed": 0, "unreadable": 0, "expired": [], "dryRun": dry_run}
    kept: list[str] = []  # receipt handles of messages left for the next run (hidden during this one)
    while summary["seen"] < max_messages:
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=min(10, max_messages - summary["seen"]),
                                       WaitTimeSeconds=0, VisibilityTimeout=0 if dry_run else 120).get("Messages", [])
        if not messages:
            break
        for message in messages:
            summary["seen"] += 1
            batch = failed_batch(message["Body"])
            if batch is None:
                summary["unreadable"] += 1
                kept.append(message["ReceiptHandle"])
                continue
            if dry_run:
                continue
            try:
                records = read_batch(batch)
            except Expired:
                if rederive(batch.table):
                    summary["rederived"] += 1
                    sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
                else:
                    summary["expired"].append(batch.as_dict())
                    kept.append(message["ReceiptHandle"])
                continue
            if invoke(records):
                summary["failed"] += 1
                kept.append(message["ReceiptHandle"])
                continue
            summary["reprocessed"] += 1
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
        if dry_run:
            break
    for receipt in kept:  # visible again for the next run, not after the visibility timeout
        sqs.change_message_visibility(QueueUrl=queue_url, ReceiptHandle=receipt, VisibilityTimeout=0)
    return summary


# ---------------------------------------------------------------------------------------------
# AWS: DynamoDB Streams and Lambda


def lambda_event_value(value):
    """A boto3-deserialised stream record as Lambda puts it in an event: binaries in base64,
    the creation time in epoch seconds."""
    if isinstance(value, dict):
        return {k: lambda_event_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [lambda_event_value(v) for v in value]
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(bytes(value)).decode()
    if isinstance(value, datetime):
        return int(value.timestamp())
    return value


def stream_reader(streams, region: str) -> ReadBatch:
    from botocore.exceptions import ClientError

    def read(batch: FailedBatch) -> list:
        try:
            iterator = streams.get_shard_iterator(StreamArn=batch.stream_arn, ShardId=batch.shard_id,
                                                  ShardIteratorType="AT_SEQUENCE_NUMBER", SequenceNumber=batch.start)["ShardIterator"]
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("TrimmedDataAccessException", "ResourceNotFoundException"):
                raise Expired(batch.as_dict()) from None
            raise
        records: list = []
        while iterator:
            page = streams.get_records(ShardIterator=iterator, Limit=1000)
            for record in page.get("Records", []):
                if not batch.holds(record["dynamodb"]["SequenceNumber"]):
                    return records
                records.append(lambda_event_value({**record, "eventSourceARN": batch.stream_arn, "awsRegion": region}))
            if not page.get("Records"):
                break  # an open shard's end: nothing newer yet
            iterator = page.get("NextShardIterator")
        if not records:
            raise Expired(batch.as_dict())
        return records

    return read


def lambda_invoker(lambda_client, function: str) -> Invoke:
    def invoke(records: list) -> list:
        response = lambda_client.invoke(FunctionName=function, Payload=json.dumps({"Records": records}).encode())
        if response.get("FunctionError"):
            return [r["dynamodb"]["SequenceNumber"] for r in records]
        result = json.loads(response["Payload"].read() or b"{}") or {}
        return [f["itemIdentifier"] for f in result.get("batchItemFailures", [])]

    return invoke


def feed_rederiver(store) -> Rederive:
    """Expired posts-stream work: rebuild the feed from the posts replica. Nothing else can be re-derived."""
    from appx_common.feed_backfill import backfill_feed

    def rederive(table: str) -> bool:
        if table != store.cfg.posts_table:
            return False
        backfill_feed(store)
        return True

    return rederive


def main(argv: list[str] | None = None, clients: dict | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.redrive stream", description=__doc__.splitlines()[0])
    parser.add_argument("--queue", required=True, help="the cell's streamFailureQueueUrl stack output")
    parser.add_argument("--region", default=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION"))
    parser.add_argument("--function", default="appx-stream")
    parser.add_argument("--max", type=int, default=100)
    parser.add_argument("--dry-run", action="store_true")
    args = parser.parse_args(argv)
    from appx_common import aws
    from appx_common.config import RegionConfig
    from appx_common.store import Store

    cfg = RegionConfig.from_env({**os.environ, "APPX_REGION": args.region}, "appx-redrive")
    clients = clients or {name: aws.client(name, cfg) for name in ("sqs", "dynamodbstreams", "lambda")}
    store = Store(cfg, clients.get("dynamodb") or aws.resource("dynamodb", cfg))
    summary = redrive_stream_failures(
        clients["sqs"], args.queue, stream_reader(clients["dynamodbstreams"], args.region),
        lambda_invoker(clients["lambda"], args.function), feed_rederiver(store), args.max, args.dry_run,
    )
    print(json.dumps(summary))
    return 1 if summary["expired"] or summary["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
