"""Each function's role grants exactly the calls its handler makes (functions/*/handler.py
through appx_common.store and appx_common.idempotency), on exactly the resources it uses."""

from __future__ import annotations

import json

import pytest

from components.data_key import ALIAS as DATA_KEY_ALIAS
from tests.infra.test_event_sources import role_policy_of

GET, QUERY, PUT, UPDATE, DELETE = (f"dynamodb:{a}" for a in ("GetItem", "Query", "PutItem", "UpdateItem", "DeleteItem"))
LOGS = {"logs:CreateLogStream", "logs:PutLogEvents"}
XRAY = {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}
STREAM_READ = {"dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:ListStreams"}
PROFILE_STORE = {GET, QUERY, PUT, UPDATE, DELETE}


def expected(function: str, zones: list[str]) -> dict[str, set[str]]:
    common = {"log-group": LOGS, "*": XRAY}
    if function == "api":
        return {
            **common,
            **{f"table:appx-restricted-{z}": PROFILE_STORE for z in zones},
            "table:appx-posts": {GET, PUT},
            "index:appx-posts/byAuthor": {QUERY},
            "table:appx-feed": {GET, QUERY},
            "table:appx-idempotency": {GET, PUT, UPDATE, DELETE},
            "data-key": {"kms:Decrypt", "kms:GenerateDataKey"},  # environment; producer of the CMK queue
            **{f"field-key:{z}": {"kms:Decrypt", "kms:DescribeKey"} for z in zones},
            "queue:appx-deferred-writes": {"sqs:SendMessage"},
        }
    if function == "worker":
        return {
            **common,
            **{f"table:appx-restricted-{z}": PROFILE_STORE for z in zones},
            "table:appx-posts": {PUT},
            "table:appx-idempotency": {DELETE},
            "data-key": {"kms:Decrypt"},  # consumer only: no GenerateDataKey
            "queue:appx-deferred-writes": {"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"},
        }
    return {  # stream: reads streams, keeps the feed, erases posts; no restricted table
        **common,
        **{f"stream:{t}": STREAM_READ for t in ["appx-posts", *(f"appx-restricted-{z}" for z in zones)]},
        "table:appx-posts": {GET, PUT, DELETE},
        "index:appx-posts/byAuthor": {QUERY},
        "table:appx-feed": {PUT, DELETE},
        "data-key": {"kms:Decrypt", "kms:GenerateDataKey"},  # environment; on-failure records into the CMK queue
        "queue:appx-stream-failures": {"sqs:SendMessage"},
    }


def label(arn: str) -> str:
    """A readable name for a granted resource ARN of this cell (keys are named by alias)."""
    if arn == "*":
        return "*"
    if ":log-group:" in arn:
        return "log-group"
    if arn.startswith("arn:aws:sqs:"):
        return f"queue:{arn.rsplit(':', 1)[1]}"
    table = arn.split(":table/", 1)[1]
    if "/stream/" in table:
        return f"stream:{table.split('/')[0]}"
    if "/index/" in table:
        name, index = table.split("/index/")
        return f"index:{name}/{index}"
    return f"table:{table}"


def key_labels(statement: dict) -> list[str]:
    """`key/*` narrowed by alias: the keys it names."""
    aliases = statement["Condition"]["ForAnyValue:StringEquals"]["kms:ResourceAliases"]
    return ["data-key" if a == DATA_KEY_ALIAS else f"field-key:{a.rsplit('-', 1)[1]}" for a in aliases]


def granted(run, function: str) -> dict[str, set[str]]:
    _, policy = role_policy_of(run, f"appx-{function}")
    grants: dict[str, set[str]] = {}
    for statement in json.loads(policy.props["policy"])["Statement"]:
        assert statement["Effect"] == "Allow"
        for arn in statement["Resource"]:
            for name in key_labels(statement) if arn.endswith(":key/*") else [label(arn)]:
                grants.setdefault(name, set()).update(statement["Action"])
    return grants


@pytest.mark.parametrize("function", ["api", "worker", "stream"])
def test_each_role_grants_exactly_what_its_handler_calls(project, mode_cells, function):
    for region, run in mode_cells.items():  # the documents name resources by known ARNs: a first preview sees them too
        zones = sorted(z.name for z in project.residency.zones_in(region))
        assert granted(run, function) == expected(function, zones), region


def test_every_granted_resource_is_in_the_cells_own_region(mode_cells):
    for region, run in mode_cells.items():
        for function in ("api", "worker", "stream"):
            _, policy = role_policy_of(run, f"appx-{function}")
            for statement in json.loads(policy.props["policy"])["Statement"]:
                for arn in statement["Resource"]:
                    assert arn == "*" or arn.split(":")[3] == region, (function, arn)


def test_field_key_decryption_is_bound_to_the_envelope_algorithm(mode_cells):
    for run in mode_cells.values():
        _, policy = role_policy_of(run, "appx-api")
        decrypts = [s for s in json.loads(policy.props["policy"])["Statement"]
                    if s["Action"] == ["kms:Decrypt"] and any(k.startswith("field-key:") for k in key_labels(s))]
        assert decrypts
        for statement in decrypts:
            assert statement["Condition"]["StringEquals"] == {"kms:EncryptionAlgorithm": "RSAES_OAEP_SHA_256"}
            assert all(k.startswith("field-key:") for k in key_labels(statement))  # never the data key with it
