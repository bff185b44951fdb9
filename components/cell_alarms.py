"""CloudWatch alarms that page when the cell stops serving: API 5xx, Lambda throttles,
global-table replication latency (DLQ depth lives with the queue), and an erasure job older than
its bound (or a sweeper that stopped reporting)."""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from components.erasure_windows import JOB_BOUND_SECONDS

REPLICATION_LATENCY_MS = 5_000


@dataclass
class CellAlarmsArgs:
    api_id: pulumi.Input[str]
    function_names: dict  # short name -> function name output
    # (table name, receiving region) for each replica this cell sends to
    replication_paths: list[tuple[str, str]] = field(default_factory=list)
    alarm_topic_arns: list = field(default_factory=list)


class CellAlarms(pulumi.ComponentResource):
    def __init__(self, name: str, args: CellAlarmsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("appx:observability:CellAlarms", name, None, opts)
        self._args = args
        self._alarm(f"{name}-api-5xx", "AWS/ApiGateway", "5xx", {"ApiId": args.api_id}, "Sum", 5,
                    "The cell answers 5xx: Route 53 will route around it once /health fails too")
        for short, function_name in args.function_names.items():
            self._alarm(f"{name}-{short}-throttles", "AWS/Lambda", "Throttles", {"FunctionName": function_name}, "Sum", 0,
                        f"appx-{short} is throttled: raise its reserved concurrency in the stack file")
        for table, receiving_region in args.replication_paths:
            self._alarm(f"{name}-{table}-to-{receiving_region}-replication", "AWS/DynamoDB", "ReplicationLatency",
                        {"TableName": table, "ReceivingRegion": receiving_region}, "Average", REPLICATION_LATENCY_MS,
                        f"{table} replicates to {receiving_region} slowly: a failover would serve stale data")
        # Emitted by every sweep (EMF, service appx-worker); no data means the sweeper stopped.
        self._alarm(f"{name}-erasure-job-age", "AppX", "ErasureJobOldestAgeSeconds", {"service": "appx-worker"}, "Maximum",
                    JOB_BOUND_SECONDS,
                    "An erasure job is older than its bound, or the sweeper stopped: "
                    "`python -m tools.erasure list`, fix the cause, then `python -m tools.erasure resume`",
                    missing="breaching", period=300)
        self.register_outputs({})

    def _alarm(self, name: str, namespace: str, metric: str, dimensions: dict, statistic: str, threshold: float, description: str,
               missing: str = "notBreaching", period: int = 60):
        aws.cloudwatch.MetricAlarm(
            name,
            alarm_description=description,
            namespace=namespace,
            metric_name=metric,
            dimensions=dimensions,
            statistic=statistic,
            period=period,
            evaluation_periods=3,
            datapoints_to_alarm=2,
            threshold=threshold,
            comparison_operator="GreaterThanThreshold",
            treat_missing_data=missing,
            alarm_actions=self._args.alarm_topic_arns,
            opts=pulumi.ResourceOptions(parent=self),
        )


def queue_depth_alarm(name: str, queue_name: pulumi.Input[str], description: str, alarm_topic_arns: list,
                      opts: pulumi.ResourceOptions) -> aws.cloudwatch.MetricAlarm:
    """Pages on the first message in a queue that only holds work a human must look at."""
    return aws.cloudwatch.MetricAlarm(
        name,
        alarm_description=description,
        namespace="AWS/SQS",
        metric_name="ApproximateNumberOfMessagesVisible",
        dimensions={"QueueName": queue_name},
        statistic="Maximum",
        period=60,
        evaluation_periods=1,
        threshold=0,
        comparison_operator="GreaterThanThreshold",
        treat_missing_data="notBreaching",
        alarm_actions=alarm_topic_arns,
        opts=opts,
    )
