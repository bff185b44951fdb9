"""Each function's role grants exactly the calls its handler makes (functions/*/handler.py
through appx_common.store and appx_common.idempotency), on exactly the resources it uses."""

from __future__ import annotations

import json

import pytest

from components.tables import placements
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


def label(arn: str, run) -> str:
    """A readable name for a granted resource ARN of this cell."""
    field_keys = {v["fieldKeyArn"]: z for z, v in run.outputs["zones"].items()}
    if arn == "*":
        return "*"
    if arn == run.outputs["dataKeyArn"]:
        return "data-key"
    if arn in field_keys:
        return f"field-key:{field_keys[arn]}"
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


def granted(run, function: str) -> dict[str, set[str]]:
    _, policy = role_policy_of(run, f"appx-{function}")
    grants: dict[str, set[str]] = {}
    for statement in json.loads(policy.props["policy"])["Statement"]:
        assert statement["Effect"] == "Allow"
        for arn in statement["Resource"]:
            grants.setdefault(label(arn, run), set()).update(statement["Action"])
    return grants


def resource_label(resource) -> str | None:
    """The label of a resource a role policy is built from (what a preview knows about it)."""
    kind = resource.type.rsplit(":", 1)[1]
    tags = resource.props.get("tags") or {}
    if kind == "Table":
        return f"table:{resource.props['name']}"
    if kind == "TableReplica":
        return f"table:{resource.props['globalTableArn'].rsplit('/', 1)[1]}"
    if kind in ("Key", "ReplicaKey"):
        return "data-key" if tags.get("purpose") == "data-at-rest" else f"field-key:{tags['residency-zone']}"
    if kind == "LogGroup":
        return "log-group"
    if kind == "Queue":
        return f"queue:{resource.props['name']}"
    return None


def expected_sources(function: str, zones: list[str], region: str, owners: dict[str, str]) -> set[str]:
    """What a first preview knows of the grants: the resources their ARNs come from. A stream ARN
    comes from its table where the cell owns it, from a lookup (no resource) where it replicates it."""
    sources = set()
    for grant in expected(function, zones):
        if grant == "*":
            continue
        kind, _, what = grant.partition(":")
        if kind == "index":
            sources.add(f"table:{what.split('/')[0]}")
        elif kind == "stream":
            if owners[what] == region:
                sources.add(f"table:{what}")
        else:
            sources.add(grant)
    return sources


@pytest.mark.parametrize("function", ["api", "worker", "stream"])
def test_each_role_grants_exactly_what_its_handler_calls(project, mode_cells, function):
    owners = {p.spec.name: p.owner for p in placements(project)}
    for region, run in mode_cells.items():
        zones = sorted(z.name for z in project.residency.zones_in(region))
        if run.mode == "preview":  # the document is unknown; the resources it is built from are known
            _, policy = role_policy_of(run, f"appx-{function}")
            by_urn = {r.urn: r for r in run.resources}
            sources = {resource_label(by_urn[u]) for u in policy.property_dependencies["policy"]}
            assert sources == expected_sources(function, zones, region, owners), region
        else:
            assert granted(run, function) == expected(function, zones), region


def test_every_granted_resource_is_in_the_cells_own_region(cell_runs):
    for region, run in cell_runs.items():
        for function in ("api", "worker", "stream"):
            _, policy = role_policy_of(run, f"appx-{function}")
            for statement in json.loads(policy.props["policy"])["Statement"]:
                for arn in statement["Resource"]:
                    assert arn == "*" or arn.split(":")[3] == region, (function, arn)


def test_field_key_decryption_is_bound_to_the_envelope_algorithm(cell_runs):
    for run in cell_runs.values():
        _, policy = role_policy_of(run, "appx-api")
        decrypts = [s for s in json.loads(policy.props["policy"])["Statement"]
                    if s["Action"] == ["kms:Decrypt"] and "Condition" in s]
        assert [s["Condition"] for s in decrypts] == [{"StringEquals": {"kms:EncryptionAlgorithm": "RSAES_OAEP_SHA_256"}}]
