"""The queue that absorbs writes while the write path's breaker is open, with its DLQ and an
alarm on DLQ depth. Messages carry pseudonymous ids and edge ciphertext: data class personal."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from components.erasure_windows import dlq_retention_seconds

VISIBILITY_TIMEOUT_SECONDS = 60  # >= 6 x the worker's timeout is AWS's advice; worker timeout is 10 s


@dataclass
class DeferredWriteQueueArgs:
    data_key_arn: pulumi.Input[str]
    message_retention_seconds: int
    max_receive_count: int
    alarm_topic_arns: list = field(default_factory=list)  # notified when the DLQ fills


class DeferredWriteQueue(pulumi.ComponentResource):
    url: pulumi.Output[str]
    arn: pulumi.Output[str]
    dlq_arn: pulumi.Output[str]
    dlq_url: pulumi.Output[str]

    def __init__(self, name: str, args: DeferredWriteQueueArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("appx:messaging:DeferredWriteQueue", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        tags = {"app": "appx", "data-class": "personal"}
        dlq = aws.sqs.Queue(
            f"{name}-dlq",
            name="appx-deferred-writes-dlq",
            kms_master_key_id=args.data_key_arn,
            kms_data_key_reuse_period_seconds=300,
            message_retention_seconds=dlq_retention_seconds(args.message_retention_seconds),
            tags={**tags, "role": "dead-letter"},
            opts=child,
        )
        queue = aws.sqs.Queue(
            name,
            name="appx-deferred-writes",
            kms_master_key_id=args.data_key_arn,
            kms_data_key_reuse_period_seconds=300,
            message_retention_seconds=args.message_retention_seconds,
            visibility_timeout_seconds=VISIBILITY_TIMEOUT_SECONDS,
            redrive_policy=dlq.arn.apply(lambda arn: json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": args.max_receive_count})),
            tags=tags,
            opts=child,
        )
        aws.sqs.RedriveAllowPolicy(
            f"{name}-dlq-redrive-allow",
            queue_url=dlq.url,
            redrive_allow_policy=queue.arn.apply(lambda arn: json.dumps({"redrivePermission": "byQueue", "sourceQueueArns": [arn]})),
            opts=child,
        )
        aws.cloudwatch.MetricAlarm(
            f"{name}-dlq-depth",
            alarm_description="Deferred writes failed repeatedly and wait in the DLQ: fix the cause, then `python -m tools.redrive`",
            namespace="AWS/SQS",
            metric_name="ApproximateNumberOfMessagesVisible",
            dimensions={"QueueName": dlq.name},
            statistic="Maximum",
            period=60,
            evaluation_periods=1,
            threshold=0,
            comparison_operator="GreaterThanThreshold",
            treat_missing_data="notBreaching",
            alarm_actions=args.alarm_topic_arns,
            opts=child,
        )
        self.url, self.arn, self.dlq_arn, self.dlq_url = queue.url, queue.arn, dlq.arn, dlq.url
        self.register_outputs({"url": self.url, "arn": self.arn, "dlqArn": self.dlq_arn})
