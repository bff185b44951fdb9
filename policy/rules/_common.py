"""Helpers shared by the rules of the appx-gdpr policy pack.

Pure functions over the property bags that pulumi-policy hands to validations (camelCase wire
names, as registered). No rule starts a pack; `policy.rules.POLICIES` is importable anywhere.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:  # under the CLI the pack runs with cwd=policy/
    sys.path.insert(0, str(REPO_ROOT))

from pulumi_policy import (  # noqa: E402
    EnforcementLevel,
    PolicyComplianceFramework,
    PolicyConfigSchema,
    ResourceValidationPolicy,
    Severity,
    StackValidationPolicy,
)

from components.regions import EDGE_CONTROL_REGION, EU_REGIONS  # noqa: E402
from components.residency import RESIDENCY_FILE, Residency, ResidencyZone, load_residency  # noqa: E402
from components.tables import KEY_MATERIAL, key_store_zone  # noqa: E402

__all__ = [
    "EnforcementLevel", "PolicyConfigSchema", "ResourceValidationPolicy", "Severity", "StackValidationPolicy",
    "EDGE_CONTROL_REGION", "EU_REGIONS", "gdpr", "residency", "tags_of", "data_class", "region_of",
    "short", "conf", "policy_statements", "as_list", "truthy",
]

DOCS_URL = "https://github.com/appx/appx/blob/main/docs/policy.md"

# Resource types ----------------------------------------------------------------------------
TABLE = "aws:dynamodb/table:Table"
TABLE_REPLICA = "aws:dynamodb/tableReplica:TableReplica"
GLOBAL_TABLE_LEGACY = "aws:dynamodb/globalTable:GlobalTable"
QUEUE = "aws:sqs/queue:Queue"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
FUNCTION = "aws:lambda/function:Function"
PERMISSION = "aws:lambda/permission:Permission"
FUNCTION_URL = "aws:lambda/functionUrl:FunctionUrl"
KMS_KEY = "aws:kms/key:Key"
KMS_REPLICA_KEY = "aws:kms/replicaKey:ReplicaKey"
KMS_KEY_POLICY = "aws:kms/keyPolicy:KeyPolicy"
DISTRIBUTION = "aws:cloudfront/distribution:Distribution"
CERTIFICATE = "aws:acm/certificate:Certificate"
CERTIFICATE_VALIDATION = "aws:acm/certificateValidation:CertificateValidation"
WEB_ACL = "aws:wafv2/webAcl:WebAcl"
API_DOMAIN = "aws:apigatewayv2/domainName:DomainName"
API_STAGE = "aws:apigatewayv2/stage:Stage"
RECORD = "aws:route53/record:Record"
HEALTH_CHECK = "aws:route53/healthCheck:HealthCheck"
S3_BUCKETS = ("aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2")
S3_SSE = (
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
)
SNS_TOPIC = "aws:sns/topic:Topic"
KINESIS_STREAM = "aws:kinesis/stream:Stream"
PROVIDER = "pulumi:providers:aws"

# Resources that hold data and therefore carry a `data-class` tag (Art. 30 inventory).
DATA_BEARING = frozenset({TABLE, TABLE_REPLICA, QUEUE, LOG_GROUP, SNS_TOPIC, KINESIS_STREAM, *S3_BUCKETS})
DATA_CLASSES = ("restricted", "personal", "public", KEY_MATERIAL)
CLASS_RANK = {"public": 0, "personal": 1, "restricted": 2, KEY_MATERIAL: 3}
DATA_CLASS_TAG = "data-class"
ZONE_TAG = "residency-zone"
PURPOSE_TAG = "purpose"
FIELD_ENCRYPTION = "field-encryption"
SUBJECT_KEY_WRAPPING = "subject-key-wrapping"
ZONE_KEY_PURPOSES = (FIELD_ENCRYPTION, SUBJECT_KEY_WRAPPING)  # keys that open a zone's data

# Global services: no regional data plane, created through any provider (Control Tower's
# region-deny guardrail exempts them the same way).
GLOBAL_TYPE_PREFIXES = ("aws:iam/", "aws:route53/", "aws:cloudfront/", "aws:organizations/", "aws:shield/")


def gdpr(article: str, title: str) -> PolicyComplianceFramework:
    """The compliance framework entry of a rule: GDPR and the article it serves."""
    return PolicyComplianceFramework(
        name="GDPR",
        version="2016/679",
        reference=article,
        specification=f"Regulation (EU) 2016/679 {article}: {title}",
    )


@lru_cache(maxsize=1)
def residency() -> Residency:
    """The project's one residency definition (../residency.yaml)."""
    return load_residency(REPO_ROOT / RESIDENCY_FILE)


def as_list(value: Any) -> list:
    """A list of the value(s); pulumi-policy hands lists over as read-only Sequence proxies."""
    if value is None:
        return []
    if isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        return list(value)
    return [value]


def plain(value: Any) -> Any:
    """A deep copy of a (proxied) property value as plain dicts and lists, e.g. for remediations."""
    if isinstance(value, Mapping):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        return [plain(v) for v in value]
    return value


def truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return value is True


def tags_of(props: Mapping[str, Any]) -> dict[str, str]:
    tags = props.get("tags") or {}
    return {str(k): str(v) for k, v in tags.items()} if isinstance(tags, Mapping) else {}


def data_class(props: Mapping[str, Any]) -> str | None:
    return tags_of(props).get(DATA_CLASS_TAG)


def table_name(resource_type: str, props: Mapping[str, Any]) -> str | None:
    """A table's name, or a TableReplica's (the last part of its global table's ARN)."""
    if resource_type == TABLE:
        return props.get("name") if isinstance(props.get("name"), str) else None
    arn = props.get("globalTableArn")
    return arn.rsplit("/", 1)[-1] if resource_type == TABLE_REPLICA and isinstance(arn, str) and "/" in arn else None


def holds_subject_keys(resource_type: str, props: Mapping[str, Any]) -> ResidencyZone | None:
    """The zone whose subject keys this table or replica holds, decided from the table layouts
    of components/tables.py (what it holds), never from its tags; None for any other resource."""
    if resource_type not in (TABLE, TABLE_REPLICA):
        return None
    name = table_name(resource_type, props)
    return key_store_zone(name, residency().zones.values()) if name else None


def short(urn: str, name: str | None = None) -> str:
    """How a resource is named in messages: `type-token name`."""
    typ = urn.split("::")[-2].split("$")[-1] if urn.count("::") >= 2 else "?"
    return f"{typ} '{name or urn.split('::')[-1]}'"


def stack_region() -> str | None:
    """`aws:region` of the stack (the CLI hands the pack the stack config via PULUMI_CONFIG)."""
    try:
        import pulumi.runtime

        value = pulumi.runtime.get_config("aws:region")
    except Exception:  # pragma: no cover - no runtime settings
        value = None
    return value or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")


def region_of(props: Mapping[str, Any], provider: Any) -> str | None:
    """Where AWS creates the resource: its own `region` input (pulumi-aws v7), else its provider's
    region (the CLI passes the default provider too, configured from `aws:region`), else the
    stack's `aws:region`."""
    own = props.get("region")
    if isinstance(own, str) and own:
        return own
    if provider is not None:
        region = (provider.props or {}).get("region")
        if isinstance(region, str) and region:
            return region
    return stack_region()


def conf(args: Any, key: str, default: Any) -> Any:
    """A policy config value (the CLI fills schema defaults; direct calls may not)."""
    value = (args.get_config() or {}).get(key)
    return default if value is None else value


def int_schema(key: str, default: int, minimum: int, maximum: int, description: str) -> PolicyConfigSchema:
    return PolicyConfigSchema(
        properties={key: {"type": "integer", "default": default, "minimum": minimum, "maximum": maximum,
                          "description": description}}
    )


def parse_document(doc: Any) -> Mapping[str, Any] | None:
    """An IAM / key policy document given as JSON text or an object; None if unparseable."""
    if isinstance(doc, str):
        try:
            doc = json.loads(doc)
        except ValueError:
            return None
    return doc if isinstance(doc, Mapping) else None


def policy_statements(doc: Any) -> list[Mapping[str, Any]]:
    parsed = parse_document(doc)
    if parsed is None:
        return []
    return [s for s in as_list(parsed.get("Statement")) if isinstance(s, Mapping)]


IAM_DOCUMENT_TYPES = {
    "aws:iam/policy:Policy": ("policy",),
    "aws:iam/rolePolicy:RolePolicy": ("policy",),
    "aws:iam/userPolicy:UserPolicy": ("policy",),
    "aws:iam/groupPolicy:GroupPolicy": ("policy",),
}


def iam_documents(resource_type: str, props: Mapping[str, Any]) -> Iterable[tuple[str, Any]]:
    """(where, document) pairs of the identity policies a resource defines."""
    for key in IAM_DOCUMENT_TYPES.get(resource_type, ()):
        if props.get(key) is not None:
            yield key, props.get(key)
    if resource_type == "aws:iam/role:Role":
        for i, inline in enumerate(as_list(props.get("inlinePolicies"))):
            if isinstance(inline, Mapping) and inline.get("policy") is not None:
                yield f"inlinePolicies[{i}] {inline.get('name', '')}".strip(), inline.get("policy")


def num(value: Any) -> Any:
    """A number as written in config (Struct numbers arrive as floats: 30.0 -> 30)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def rank(cls: str | None) -> int:
    return CLASS_RANK.get(cls or "", -1)


# Rule factories --------------------------------------------------------------------------------
# Every message reads "<type> '<name>': <what is wrong>. Fix: <what to change>" so a reviewer
# can act on it without opening the docs.


def resource_rule(*, name: str, description: str, article: str, title: str, severity: Severity,
                  level: EnforcementLevel, remediation_steps: str, types: Iterable[str] | None, check,
                  config_schema: PolicyConfigSchema | None = None, remediate=None,
                  display_name: str | None = None) -> ResourceValidationPolicy:
    """A resource policy. `check(args)` yields "problem. Fix: ..." strings for `args.resource_type` in `types`."""
    wanted = frozenset(types) if types is not None else None

    def validate(args, report_violation):
        if wanted is not None and args.resource_type not in wanted:
            return
        for problem in check(args):
            report_violation(f"{short(args.urn, args.name)}: {problem}")

    return ResourceValidationPolicy(
        name=name, description=description, validate=validate, remediate=remediate,
        enforcement_level=level, config_schema=config_schema, display_name=display_name or name,
        severity=severity, framework=gdpr(article, title), tags=["gdpr", article.split("(")[0].strip()],
        remediation_steps=remediation_steps, url=f"{DOCS_URL}#{name}",
    )


def stack_rule(*, name: str, description: str, article: str, title: str, severity: Severity,
               level: EnforcementLevel, remediation_steps: str, check,
               config_schema: PolicyConfigSchema | None = None,
               display_name: str | None = None) -> StackValidationPolicy:
    """A stack policy. `check(args)` yields (resource, "problem. Fix: ...") pairs; resource may be None."""

    def validate(args, report_violation):
        for resource, problem in check(args):
            if resource is None:
                report_violation(problem)
            else:
                report_violation(f"{short(resource.urn, resource.name)}: {problem}", resource.urn)

    return StackValidationPolicy(
        name=name, description=description, validate=validate, enforcement_level=level,
        config_schema=config_schema, display_name=display_name or name, severity=severity,
        framework=gdpr(article, title), tags=["gdpr", article.split("(")[0].strip()],
        remediation_steps=remediation_steps, url=f"{DOCS_URL}#{name}",
    )


def resource_region(resource: Any) -> str | None:
    """region_of() for a PolicyResource of a stack policy."""
    return region_of(resource.props or {}, resource.provider)


def dependency_closure(roots: Iterable[Any]) -> dict[str, Any]:
    """URN -> PolicyResource of everything `roots` depend on, transitively (roots included)."""
    seen: dict[str, Any] = {}
    todo = list(roots)
    while todo:
        r = todo.pop()
        if r.urn in seen:
            continue
        seen[r.urn] = r
        todo.extend(r.dependencies or [])
        for deps in (r.property_dependencies or {}).values():
            todo.extend(deps)
    return seen


def depends_on(resource: Any, other: Any) -> bool:
    if any(d.urn == other.urn for d in resource.dependencies or []):
        return True
    return any(d.urn == other.urn for deps in (resource.property_dependencies or {}).values() for d in deps)
