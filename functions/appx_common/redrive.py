"""Redrive the deferred-writes DLQ back to its source queue after the cause is fixed.

    PYTHONPATH=functions python -m appx_common.redrive --dlq <DLQ URL> --queue <queue URL> \
        [--region eu-west-1] [--max 1000] [--dry-run]

Messages are re-sent unchanged (operations are idempotent, so a message that had partly
applied is safe to replay) and deleted from the DLQ only after the send succeeded. Prints a
JSON summary. (SQS's native StartMessageMoveTask does the same in AWS; this command also works
against the local runtime's moto server via AWS_ENDPOINT_URL.)
"""

from __future__ import annotations

import argparse
import json
import os
import sys


def redrive(sqs, dlq_url: str, queue_url: str, max_messages: int = 1000, dry_run: bool = False) -> dict:
    moved = seen = 0
    while seen < max_messages:
        batch = sqs.receive_message(QueueUrl=dlq_url, MaxNumberOfMessages=min(10, max_messages - seen), WaitTimeSeconds=0, VisibilityTimeout=0 if dry_run else 30).get("Messages", [])
        if not batch:
            break
        for msg in batch:
            seen += 1
            if dry_run:
                continue
            sqs.send_message(QueueUrl=queue_url, MessageBody=msg["Body"])
            sqs.delete_message(QueueUrl=dlq_url, ReceiptHandle=msg["ReceiptHandle"])
            moved += 1
        if dry_run:
            break
    return {"seen": seen, "moved": moved, "dryRun": dry_run}


def main(argv: list[str] | None = None, sqs=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m appx_common.redrive", description=__doc__.splitlines()[0])
    parser.add_argument("--dlq", required=True)
    parser.add_argument("--queue", required=True)
    parser.add_argument("--region", default=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION"))
    parser.add_argument("--max", type=int, default=1000)
    parser.add_argument("--dry-run", action="store_true")
    args = parser.parse_args(argv)
    if sqs is None:
        import boto3

        from appx_common.aws import QUEUE

        sqs = boto3.client("sqs", region_name=args.region, config=QUEUE)
    print(json.dumps(redrive(sqs, args.dlq, args.queue, args.max, args.dry_run)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
