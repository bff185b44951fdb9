"""Each function's role grants exactly the calls its handler makes (functions/*/handler.py
through appx_common.store and appx_common.idempotency), on exactly the resources it uses."""

from __future__ import annotations

import json

import pytest

from components.data_key import ALIAS as DATA_KEY_ALIAS
from components.zone_key import FIELD_ENCRYPTION, SUBJECT_KEY_WRAPPING, SUBJECT_REFERENCE
from tests.infra.conftest import refers
from tests.infra.test_event_sources import role_policy_of

GET, QUERY, PUT, UPDATE, DELETE = (f"dynamodb:{a}" for a in ("GetItem", "Query", "PutItem", "UpdateItem", "DeleteItem"))
LOGS = {"logs:CreateLogStream", "logs:PutLogEvents"}
XRAY = {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}
STREAM_READ = {"dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:ListStreams"}
CONDITION = "dynamodb:ConditionCheckItem"
PROFILE_WRITES = {CONDITION, QUERY, PUT, UPDATE, DELETE}
PROFILE_STORE = {GET, *PROFILE_WRITES}


def key_store_copies(zones: dict[str, tuple[str, ...]], actions: set[str]) -> dict[str, set[str]]:
    """The zone's subject-key store in the cell's region and in the zone's other regions
    (functions/appx_common/key_store.py)."""
    return {**{f"table:appx-subject-keys-{z}": actions for z in zones},
            **{f"table:appx-subject-keys-{z}@{r}": actions for z, others in zones.items() for r in others}}


def erasure_job(zones: dict[str, tuple[str, ...]]) -> dict[str, set[str]]:
    """What an erasure job needs, run by the stream from the restricted stream and by the worker's sweeper.
    ``zones``: zone -> its regions other than the cell's."""
    return {
        **{f"table:appx-restricted-{z}": {QUERY, UPDATE, DELETE} for z in zones},
        **key_store_copies(zones, {GET, PUT}),  # shred: a marker over every copy
        "index:appx-idempotency/bySubject": {QUERY},
        "index:appx-posts/byAuthor": {QUERY},
        "table:appx-idempotency": {DELETE},
        "table:appx-posts": {QUERY, DELETE},
        "table:appx-feed": {"dynamodb:BatchWriteItem", DELETE},
        **{f"ref-key:{z}": {"kms:GenerateMac"} for z in zones},
    }


def merged(*grants: dict[str, set[str]]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for grant in grants:
        for label, actions in grant.items():
            out.setdefault(label, set()).update(actions)
    return out


def expected(function: str, zones: dict[str, tuple[str, ...]]) -> dict[str, set[str]]:
    common = {"log-group": LOGS, "*": XRAY}
    if function == "api":
        return {
            **common,
            **{f"table:appx-restricted-{z}": PROFILE_STORE for z in zones},
            **key_store_copies(zones, {GET, PUT}),  # create, read (repair), shred
            "table:appx-posts": {GET, PUT},
            "index:appx-posts/byAuthor": {QUERY},
            "table:appx-feed": {GET, QUERY},
            "table:appx-idempotency": {GET, PUT, UPDATE},
            "data-key": {"kms:Decrypt", "kms:GenerateDataKey"},  # environment; producer of the CMK queue
            **{f"field-key:{z}": {"kms:Decrypt", "kms:DescribeKey"} for z in zones},
            **{f"wrap-key:{z}": {"kms:GenerateDataKey", "kms:Decrypt", "kms:DescribeKey"} for z in zones},
            **{f"ref-key:{z}": {"kms:GenerateMac"} for z in zones},
            "queue:appx-deferred-writes": {"sqs:SendMessage"},
        }
    if function == "worker":
        return merged(common, erasure_job(zones), {
            **{f"table:appx-restricted-{z}": PROFILE_WRITES for z in zones},
            "table:appx-posts": {PUT},
            **{f"wrap-key:{z}": {"kms:Decrypt"} for z in zones},
            "data-key": {"kms:Decrypt"},  # consumer only: no GenerateDataKey
            "queue:appx-deferred-writes": {"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"},
        })
    return merged(common, erasure_job(zones), {  # stream: reads streams, keeps the feed, runs erasure jobs
        **{f"stream:{t}": STREAM_READ for t in ["appx-posts", *(f"appx-restricted-{z}" for z in zones)]},
        "table:appx-posts": {GET, PUT, DELETE},
        "table:appx-feed": {PUT, DELETE},
        "data-key": {"kms:Decrypt", "kms:GenerateDataKey"},  # environment; on-failure records into the CMK queue
        "queue:appx-stream-failures": {"sqs:SendMessage"},
    })


def label(arn: str, region: str) -> str:
    """A readable name for a granted resource ARN of this cell; `@<region>` for another region's."""
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
    other = arn.split(":")[3]
    return f"table:{table}" + (f"@{other}" if other != region else "")


def key_labels(statement, region: str) -> list[str] | None:
    """KMS keys are named by alias (components/arns.py): `key/*` of the cell narrowed by kms:ResourceAliases."""
    aliases = statement.get("Condition", {}).get("ForAnyValue:StringEquals", {}).get("kms:ResourceAliases")
    if aliases is None:
        return None
    assert statement["Resource"] == [f"arn:aws:kms:{region}:123456789012:key/*"], statement
    return [ALIAS_LABELS[a] if a in ALIAS_LABELS else _zone_key_label(a) for a in aliases]


ALIAS_LABELS = {DATA_KEY_ALIAS: "data-key"}
ZONE_KEY_ALIASES = {f"alias/{kind.alias_prefix}-": label for kind, label in
                    ((FIELD_ENCRYPTION, "field-key"), (SUBJECT_KEY_WRAPPING, "wrap-key"), (SUBJECT_REFERENCE, "ref-key"))}


def _zone_key_label(alias: str) -> str:
    prefix = next(p for p in ZONE_KEY_ALIASES if alias.startswith(p))
    return f"{ZONE_KEY_ALIASES[prefix]}:{alias.removeprefix(prefix)}"


def granted(run, function: str) -> dict[str, set[str]]:
    _, policy = role_policy_of(run, f"appx-{function}")
    grants: dict[str, set[str]] = {}
    for statement in json.loads(policy.props["policy"])["Statement"]:
        assert statement["Effect"] == "Allow"
        names = key_labels(statement, run.config["aws:region"]) or [label(arn, run.config["aws:region"]) for arn in statement["Resource"]]
        for name in names:
            grants.setdefault(name, set()).update(statement["Action"])
    return grants


@pytest.mark.parametrize("function", ["api", "worker", "stream"])
def test_each_role_grants_exactly_what_its_handler_calls(project, mode_cells, function):
    """In every mode, a first preview included: the documents are known before anything exists."""
    for region, run in mode_cells.items():
        zones = {z.name: tuple(r for r in z.regions if r != region) for z in project.residency.zones_in(region)}
        assert granted(run, function) == expected(function, zones), region


def test_every_alias_a_role_names_targets_that_key_in_the_cell(project, mode_cells):
    for region, run in mode_cells.items():
        aliases = {a.props["name"]: a for a in run.of_type("aws:kms/alias:Alias")}
        keys = [k for k in run.resources if k.type in ("aws:kms/key:Key", "aws:kms/replicaKey:ReplicaKey")]
        wanted = {DATA_KEY_ALIAS: ("data-at-rest", None)}
        for zone in project.residency.zones_in(region):
            for kind in (FIELD_ENCRYPTION, SUBJECT_KEY_WRAPPING, SUBJECT_REFERENCE):
                wanted[kind.alias(zone.name)] = (kind.purpose, zone.name)
        for name, (purpose, zone) in wanted.items():
            alias = aliases[name]
            (key,) = [k for k in keys if (k.props.get("tags") or {}).get("purpose") == purpose
                      and (zone is None or (k.props.get("tags") or {}).get("residency-zone") == zone)]
            assert refers(run, alias, "targetKeyId", alias.props["targetKeyId"], key, "keyId"), (region, name)


def test_every_granted_resource_is_in_the_cells_own_region_or_its_zones_key_stores(project, cell_runs):
    """The only cross-region grants: the copies of the subject-key store of a zone the cell serves,
    in that zone's regions (residency: never outside the zone)."""
    for region, run in cell_runs.items():
        key_store_copies = {f"arn:aws:dynamodb:{r}:123456789012:table/appx-subject-keys-{z.name}"
                            for z in project.residency.zones_in(region) for r in z.regions}
        for function in ("api", "worker", "stream"):
            _, policy = role_policy_of(run, f"appx-{function}")
            for statement in json.loads(policy.props["policy"])["Statement"]:
                for arn in statement["Resource"]:
                    assert arn == "*" or arn.split(":")[3] == region or arn in key_store_copies, (function, arn)


def test_field_key_decryption_is_bound_to_the_envelope_algorithm(cell_runs):
    for run in cell_runs.values():
        _, policy = role_policy_of(run, "appx-api")
        decrypts = [s for s in json.loads(policy.props["policy"])["Statement"]
                    if s["Action"] == ["kms:Decrypt"] and "Condition" in s]
        assert [s["Condition"]["StringEquals"] for s in decrypts if "StringEquals" in s["Condition"]] == [
            {"kms:EncryptionAlgorithm": "RSAES_OAEP_SHA_256"}]
        (field_keys,) = [s for s in decrypts if "StringEquals" in s["Condition"]]
        assert all(a.startswith("alias/appx-field-")
                   for a in field_keys["Condition"]["ForAnyValue:StringEquals"]["kms:ResourceAliases"])
