"""Event source mappings as AWS needs them: stream batches that exhaust their retries land in an
encrypted on-failure queue (defect 3), a new cell's stream mapping starts at the oldest record
(defect 8), and the worker's SQS mapping never polls more than its reserved concurrency runs
(defect 4)."""

from __future__ import annotations

import json

import pytest

from components.config import DEAD_LETTER_RETENTION_SECONDS, cell_config
from tests.infra.conftest import refers
from tests.infra.test_config_errors import edit_yaml, expect_error

MAPPING = "aws:lambda/eventSourceMapping:EventSourceMapping"
QUEUE = "aws:sqs/queue:Queue"
FUNCTION = "aws:lambda/function:Function"


def by_name(run, type_):
    return {r.props["name"]: r for r in run.of_type(type_)}


def data_key(run):
    (key,) = [k for k in run.of_type("aws:kms/key:Key") if k.props.get("tags", {}).get("purpose") == "data-at-rest"]
    return key


def role_of(run, function_name):
    function = by_name(run, FUNCTION)[function_name]
    return next(r for r in run.of_type("aws:iam/role:Role") if refers(run, function, "role", function.props["role"], r))


def role_policy_of(run, function_name):
    """The inline policy of the role the function runs with."""
    role = role_of(run, function_name)
    (policy,) = [p for p in run.of_type("aws:iam/rolePolicy:RolePolicy") if refers(run, p, "role", p.props["role"], role, "id")]
    return role, policy


def stream_mappings(run):
    return [m for m in run.of_type(MAPPING) if m.props.get("startingPosition")]


def test_stream_mappings_send_exhausted_batches_to_the_cells_failure_queue(mode_cells):
    for region, run in mode_cells.items():
        failures = by_name(run, QUEUE)["appx-stream-failures"]
        assert refers(run, failures, "kmsMasterKeyId", failures.props["kmsMasterKeyId"], data_key(run))
        assert failures.props["messageRetentionSeconds"] >= 14 * 24 * 3600
        assert failures.props["tags"]["data-class"] == "public"  # pointers to stream records, no content
        assert "streamFailureQueueUrl" in run.outputs
        mappings = stream_mappings(run)
        assert len(mappings) == 1 + len(run.outputs["zones"])  # posts + each zone's restricted table
        for mapping in mappings:
            destination = mapping.props["destinationConfig"]["onFailure"]["destinationArn"]
            assert refers(run, mapping, "destinationConfig", destination, failures)
            assert mapping.props["bisectBatchOnFunctionError"] is True
            assert 0 <= mapping.props["maximumRetryAttempts"] <= 10


def test_only_the_stream_role_may_send_to_the_failure_queue(mode_cells):
    for run in mode_cells.values():
        failures = by_name(run, QUEUE)["appx-stream-failures"]
        role, policy = role_policy_of(run, "appx-stream")
        (queue_policy,) = run.of_type("aws:sqs/queuePolicy:QueuePolicy")
        assert refers(run, queue_policy, "queueUrl", queue_policy.props["queueUrl"], failures, "url")
        if run.mode == "preview":  # the documents are unknown; what they are built from is not
            assert {role.urn, failures.urn} <= set(queue_policy.property_dependencies["policy"])
            assert failures.urn in policy.property_dependencies["policy"]
            continue
        allow, deny = json.loads(queue_policy.props["policy"])["Statement"]
        assert (allow["Effect"], allow["Principal"], allow["Action"]) == ("Allow", {"AWS": role.outputs["arn"]}, "sqs:SendMessage")
        assert deny["Effect"] == "Deny" and deny["Condition"] == {"ArnNotEquals": {"aws:PrincipalArn": role.outputs["arn"]}}
        assert allow["Resource"] == deny["Resource"] == failures.outputs["arn"]
        statements = json.loads(policy.props["policy"])["Statement"]
        assert {"Effect": "Allow", "Action": ["sqs:SendMessage"], "Resource": [failures.outputs["arn"]]} in statements


def test_the_failure_queue_alarms_on_the_first_failed_batch(mode_cells):
    for run in mode_cells.values():
        (topic,) = run.of_type("aws:sns/topic:Topic")
        (alarm,) = [a for a in run.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")
                    if a.props["dimensions"].get("QueueName") == "appx-stream-failures"]
        assert alarm.props["metricName"] == "ApproximateNumberOfMessagesVisible"
        assert alarm.props["threshold"] == 0 and alarm.props["comparisonOperator"] == "GreaterThanThreshold"
        (action,) = alarm.props["alarmActions"]
        assert refers(run, alarm, "alarmActions", action, topic)
        assert "tools.redrive stream" in alarm.props["alarmDescription"]


def test_mappings_are_created_after_the_permissions_aws_checks_at_creation(mode_cells):
    for run in mode_cells.values():
        policies = {p.urn for p in run.of_type("aws:iam/rolePolicy:RolePolicy")}
        for mapping in run.of_type(MAPPING):
            assert policies & set(mapping.dependencies), mapping.name


def test_stream_mappings_start_at_the_oldest_record_so_a_new_cell_misses_nothing(mode_cells):
    for run in mode_cells.values():
        assert {m.props["startingPosition"] for m in stream_mappings(run)} == {"TRIM_HORIZON"}


def test_worker_mapping_polls_no_more_than_the_worker_may_run(project, mode_cells):
    for region, run in mode_cells.items():
        settings = cell_config(project, project.stacks[region]).settings
        (mapping,) = [m for m in run.of_type(MAPPING) if not m.props.get("startingPosition")]
        assert refers(run, mapping, "eventSourceArn", mapping.props["eventSourceArn"], by_name(run, QUEUE)["appx-deferred-writes"])
        concurrency = mapping.props["scalingConfig"]["maximumConcurrency"]
        assert concurrency == settings.worker_max_concurrency
        assert 2 <= concurrency <= by_name(run, FUNCTION)["appx-worker"].props["reservedConcurrentExecutions"]


def test_dead_letter_queue_outlives_its_source(mode_cells):
    for run in mode_cells.values():
        queues = by_name(run, QUEUE)
        assert queues["appx-deferred-writes-dlq"].props["messageRetentionSeconds"] == DEAD_LETTER_RETENTION_SECONDS
        assert queues["appx-deferred-writes"].props["messageRetentionSeconds"] < DEAD_LETTER_RETENTION_SECONDS


@pytest.mark.parametrize("value, fragment", [
    (11, "must be an integer in 2..10, got 11: the SQS mapping must not poll more batches than the worker's reserved concurrency"),
    (1, "must be an integer in 2..10, got 1"),
    ("ten", "got 'ten'"),
])
def test_worker_max_concurrency_is_checked_against_reserved_concurrency(project_copy, value, fragment):
    def edit(document):
        cell = document["config"]["appx:cell"]
        cell["reservedConcurrency"]["worker"] = 10  # the bound under test, whatever the plan sized
        cell["workerMaxConcurrency"] = value
    edit_yaml(project_copy / "Pulumi.eu-west-3.yaml", edit)
    expect_error(project_copy, "eu-west-3", "Pulumi.eu-west-3.yaml", "appx:cell.workerMaxConcurrency", fragment, "allowed: 2..10")


def test_worker_max_concurrency_is_required(project_copy):
    edit_yaml(project_copy / "Pulumi.eu-west-3.yaml", lambda d: d["config"]["appx:cell"].pop("workerMaxConcurrency"))
    expect_error(project_copy, "eu-west-3", "Pulumi.eu-west-3.yaml", "appx:cell.workerMaxConcurrency", "got None")


def test_worker_reserved_concurrency_leaves_room_for_the_mappings_minimum(project_copy):
    edit_yaml(project_copy / "Pulumi.eu-west-3.yaml", lambda d: d["config"]["appx:cell"]["reservedConcurrency"].__setitem__("worker", 1))
    expect_error(project_copy, "eu-west-3", "Pulumi.eu-west-3.yaml", "appx:cell.reservedConcurrency.worker", "allowed: 2..10000")


def test_source_queue_must_retain_less_than_its_dead_letter_queue(project_copy):
    edit_yaml(project_copy / "Pulumi.eu-west-1.yaml",
              lambda d: d["config"]["appx:cell"].__setitem__("queueMessageRetentionSeconds", DEAD_LETTER_RETENTION_SECONDS))
    expect_error(project_copy, "eu-west-1", "Pulumi.eu-west-1.yaml", "appx:cell.queueMessageRetentionSeconds",
                 "the DLQ keeps a message's original enqueue time", "allowed: 60..1209599")
