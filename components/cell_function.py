"""One regional Lambda function: its least-privilege role, its log group (bounded retention,
CMK), arm64 + Python 3.13, tracing, reserved concurrency, and optionally its event source."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from components.arns import Arns, aliased
from components.data_key import ALIAS as DATA_KEY_ALIAS
from components.packaging import function_archive
from components.stream_failure_queue import StreamFailureQueue, sender_only_policy

RUNTIME = "python3.13"
ARCHITECTURE = "arm64"


@dataclass(frozen=True)
class Grant:
    """An IAM statement: actions on explicit resource ARNs (never `*` for data actions)."""

    actions: tuple[str, ...]
    resources: tuple[pulumi.Input[str], ...]
    condition: dict | None = None


@dataclass
class EventSource:
    arn: pulumi.Input[str]
    batch_size: int
    starting_position: str | None = None  # streams only
    max_retries: int | None = None  # streams only; SQS retries through its redrive policy
    # Streams only: where a batch goes after its retries (bisected down to the failing record).
    on_failure: StreamFailureQueue | None = None
    # SQS only: concurrent batches the mapping polls (<= the function's reserved concurrency).
    max_concurrency: int | None = None


@dataclass(frozen=True)
class Schedule:
    """An EventBridge rule that invokes the function with a fixed event."""

    name: str
    expression: str  # e.g. "rate(5 minutes)"
    event: dict


@dataclass
class CellFunctionArgs:
    function: str  # functions/<function>/handler.py
    data_key_arn: pulumi.Input[str]
    arns: Arns  # how its IAM document names resources (known at preview)
    environment: dict
    grants: list[Grant]
    reserved_concurrency: int
    log_retention_days: int
    timeout_seconds: int = 10
    memory_mb: int = 512
    event_sources: list[EventSource] = field(default_factory=list)
    schedules: list[Schedule] = field(default_factory=list)


class CellFunction(pulumi.ComponentResource):
    function: aws.lambda_.Function
    role_arn: pulumi.Output[str]

    def __init__(self, name: str, args: CellFunctionArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("appx:compute:CellFunction", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        function_name = f"appx-{args.function}"
        log_group = aws.cloudwatch.LogGroup(
            name,
            name=f"/aws/lambda/{function_name}",
            retention_in_days=args.log_retention_days,
            kms_key_id=args.data_key_arn,
            tags={"app": "appx", "data-class": "personal"},
            opts=child,
        )
        role = aws.iam.Role(
            f"{name}-role",
            assume_role_policy=json.dumps(trust_policy("lambda.amazonaws.com")),
            tags={"app": "appx"},
            opts=child,
        )
        destinations = list({id(s.on_failure): s.on_failure for s in args.event_sources if s.on_failure}.values())
        grants = [
            Grant(("logs:CreateLogStream", "logs:PutLogEvents"), (args.arns.log_streams(log_group.name),)),
            # X-Ray has no resource-level permissions; these are not data actions.
            Grant(("xray:PutTraceSegments", "xray:PutTelemetryRecords"), ("*",)),
            # Environment variables are encrypted with the cell's CMK.
            Grant(("kms:Decrypt",), (args.arns.keys(),), aliased([DATA_KEY_ALIAS])),
            *args.grants,
            # Lambda sends on-failure records with the function's role, into a queue under the cell's CMK.
            *([Grant(("sqs:SendMessage",), tuple(args.arns.queue(d.name) for d in destinations)),
               Grant(("kms:GenerateDataKey",), (args.arns.keys(),), aliased([DATA_KEY_ALIAS]))] if destinations else []),
        ]
        policy = aws.iam.RolePolicy(f"{name}-policy", role=role.id, policy=policy_document(grants), opts=child)
        for index, destination in enumerate(destinations):
            aws.sqs.QueuePolicy(
                f"{name}-on-failure-{index}", queue_url=destination.url, policy=sender_only_policy(args.arns.queue(destination.name), role.arn), opts=child,
            )
        self.function = aws.lambda_.Function(
            name,
            name=function_name,
            runtime=RUNTIME,
            architectures=[ARCHITECTURE],
            handler="handler.handler",
            code=function_archive(args.function),
            role=role.arn,
            timeout=args.timeout_seconds,
            memory_size=args.memory_mb,
            reserved_concurrent_executions=args.reserved_concurrency,
            kms_key_arn=args.data_key_arn,
            environment=aws.lambda_.FunctionEnvironmentArgs(variables=args.environment),
            tracing_config=aws.lambda_.FunctionTracingConfigArgs(mode="Active"),
            logging_config=aws.lambda_.FunctionLoggingConfigArgs(log_format="JSON", log_group=log_group.name),
            tags={"app": "appx"},
            opts=pulumi.ResourceOptions(parent=self, depends_on=[log_group]),
        )
        for index, source in enumerate(args.event_sources):
            aws.lambda_.EventSourceMapping(
                f"{name}-source-{index}",
                event_source_arn=source.arn,
                function_name=self.function.arn,
                batch_size=source.batch_size,
                starting_position=source.starting_position,
                maximum_retry_attempts=source.max_retries,
                bisect_batch_on_function_error=True if source.starting_position else None,
                destination_config=aws.lambda_.EventSourceMappingDestinationConfigArgs(
                    on_failure=aws.lambda_.EventSourceMappingDestinationConfigOnFailureArgs(
                        destination_arn=args.arns.queue(source.on_failure.name))  # known at a first preview
                ) if source.on_failure else None,
                scaling_config=aws.lambda_.EventSourceMappingScalingConfigArgs(maximum_concurrency=source.max_concurrency)
                if source.max_concurrency else None,
                function_response_types=["ReportBatchItemFailures"],
                # Lambda checks the role's permissions (ReceiveMessage, GetRecords, SendMessage to the
                # destination) when it creates the mapping: the role policy must exist first.
                opts=pulumi.ResourceOptions(parent=self, depends_on=[policy]),
            )
        for schedule in args.schedules:
            rule = aws.cloudwatch.EventRule(
                f"{name}-{schedule.name}", schedule_expression=schedule.expression, tags={"app": "appx"}, opts=child,
            )
            aws.cloudwatch.EventTarget(
                f"{name}-{schedule.name}", rule=rule.name, arn=self.function.arn, input=json.dumps(schedule.event), opts=child,
            )
            aws.lambda_.Permission(
                f"{name}-{schedule.name}", action="lambda:InvokeFunction", function=self.function.name,
                principal="events.amazonaws.com", source_arn=rule.arn, opts=child,
            )
        self.role_arn = role.arn
        self.register_outputs({"functionArn": self.function.arn, "roleArn": self.role_arn})


def trust_policy(*services: str) -> dict:
    return {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": list(services)}, "Action": "sts:AssumeRole"}],
    }


def policy_document(grants: list[Grant]) -> pulumi.Output[str]:
    statements = [
        pulumi.Output.all(*g.resources).apply(
            lambda resources, g=g: {
                "Effect": "Allow",
                "Action": list(g.actions),
                "Resource": sorted(set(resources)),
                **({"Condition": g.condition} if g.condition else {}),
            }
        )
        for g in grants
    ]
    return pulumi.Output.all(*statements).apply(lambda s: json.dumps({"Version": "2012-10-17", "Statement": list(s)}))


