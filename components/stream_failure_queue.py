"""The on-failure destination of the cell's DynamoDB stream mappings.

Without one, a mapping discards a batch after `maximum_retry_attempts` (Lambda Developer Guide,
"Error handling for DynamoDB event sources"): a failing erasure record would vanish silently.
Lambda sends the destination an invocation record per failed batch: the stream ARN, shard id and
sequence-number range (`DDBStreamBatchInfo`), never the records' content, so the queue holds no
personal data (data class public). The records themselves stay in the stream for 24 hours only;
`python -m tools.redrive stream` re-processes them or, once expired, re-derives the work
(README "Deploy to AWS" states what it can and cannot recover).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from components.config import DEAD_LETTER_RETENTION_SECONDS


@dataclass
class StreamFailureQueueArgs:
    data_key_arn: pulumi.Input[str]
    alarm_topic_arns: list = field(default_factory=list)  # notified as soon as one batch failed


class StreamFailureQueue(pulumi.ComponentResource):
    url: pulumi.Output[str]
    arn: pulumi.Output[str]

    def __init__(self, name: str, args: StreamFailureQueueArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("appx:messaging:StreamFailureQueue", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        queue = aws.sqs.Queue(
            name,
            name="appx-stream-failures",
            kms_master_key_id=args.data_key_arn,
            kms_data_key_reuse_period_seconds=300,
            # Long enough for an operator to act; the pointers are useless after the work is re-derived.
            message_retention_seconds=DEAD_LETTER_RETENTION_SECONDS,
            tags={"app": "appx", "data-class": "public", "role": "stream-on-failure"},
            opts=child,
        )
        aws.cloudwatch.MetricAlarm(
            f"{name}-depth",
            alarm_description="A stream batch failed past its retries (feed or erasure propagation): fix the cause, "
                              "then `python -m tools.redrive stream` within 24 h",
            namespace="AWS/SQS",
            metric_name="ApproximateNumberOfMessagesVisible",
            dimensions={"QueueName": queue.name},
            statistic="Maximum",
            period=60,
            evaluation_periods=1,
            threshold=0,
            comparison_operator="GreaterThanThreshold",
            treat_missing_data="notBreaching",
            alarm_actions=args.alarm_topic_arns,
            opts=child,
        )
        self.url, self.arn = queue.url, queue.arn
        self.name = queue.name  # known before the queue exists (IAM documents name it through components.arns)
        self.register_outputs({"url": self.url, "arn": self.arn})


def sender_only_policy(queue_arn: pulumi.Input[str], role_arn: pulumi.Input[str]) -> pulumi.Output[str]:
    """Only the mapping's function role may send: Lambda delivers on-failure records with it."""

    def document(queue: str, role: str) -> str:
        return json.dumps({
            "Version": "2012-10-17",
            "Statement": [
                {"Sid": "MappingRoleSends", "Effect": "Allow", "Principal": {"AWS": role},
                 "Action": "sqs:SendMessage", "Resource": queue},
                {"Sid": "NobodyElseSends", "Effect": "Deny", "Principal": "*", "Action": "sqs:SendMessage",
                 "Resource": queue, "Condition": {"ArnNotEquals": {"aws:PrincipalArn": role}}},
            ],
        })

    return pulumi.Output.all(queue_arn, role_arn).apply(lambda values: document(*values))
