"""Mutation suite: break each rule on a real stack's registered resources and check the pack
notices. Usage: `python -m policy.mutations [--mode update|preview] [--stack S ...] [--json]`;
exit 0 only at 100 % in every mode run (default: both).

Every mutation starts from what the program registers under mocks (`offline.stack_runner`), changes
one thing the way a careless edit would (a replica moved to eu-west-2, a log group without
retention, TLSv1 on CloudFront, an IAM `*` action, ...), evaluates the real pack through the
analyzer servicer and counts the mutation as killed when the targeted rule reports it: a violation
or, for a remediable rule at level `remediate`, a remediation of that resource.

Every mutation runs under both modes of `offline.stack_runner`: `update` (every value known) and
`preview` (a first-deploy preview: outputs of created resources unknown). A skipped evaluation is
never a kill. Some mutations exist only at preview: they hide a security-relevant value in an
unknown (an IAM document built inside an apply, a key reference that comes from something other
than a KMS key) and check that the rule still decides, or fails closed.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from policy.analyzer import OfflineAnalyzer, Provider, Resource, from_stack_run  # noqa: E402
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE as UNKNOWN  # noqa: E402  (the engine's sentinel)

MODES = ("update", "preview")

CELL, HOME, GLOBAL = "eu-central-1", "eu-west-1", "global"  # HOME owns the zone 'eu' table and key


class NoTarget(LookupError):
    pass


def find(resources: list[Resource], typ: str, pred: Callable[[Resource], bool] = lambda r: True) -> Resource:
    for r in resources:
        if r.type == typ and pred(r):
            return r
    raise NoTarget(f"no {typ} matching the mutation's target")


def tag(key: str, value: str) -> Callable[[Resource], bool]:
    return lambda r: (r.props.get("tags") or {}).get(key) == value


def add(resources: list[Resource], like: Resource, typ: str, name: str, props: dict, provider: Provider | None = None) -> Resource:
    urn = like.urn.rsplit("::", 2)[0] + f"::{typ}::{name}"
    r = Resource(urn, typ, name, props, provider or like.provider, None, [])
    resources.append(r)
    return r


def doc(statements: list) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


def london(r: Resource) -> Provider:
    p = r.provider
    return Provider(p.urn.replace(p.name, "london"), p.type, "london", {**p.props, "region": "eu-west-2"})


# Each mutation: change `resources` in place; return the name of the resource that must be reported.

def m_table_london(rs):
    t = find(rs, "aws:dynamodb/table:Table", tag("data-class", "personal"))
    t.provider = london(t)
    return t.name


def m_lambda_us_east_1(rs):
    f = find(rs, "aws:lambda/function:Function")
    f.props["region"] = "us-east-1"
    return f.name


def m_edge_env(rs):
    f = edge_function(rs)
    f.props["environment"] = {"variables": {"TABLE": "appx-posts"}}
    return f.name


def m_replica_london(rs):
    r = find(rs, "aws:dynamodb/tableReplica:TableReplica", tag("data-class", "restricted"))
    r.props["region"] = "eu-west-2"
    return r.name


def m_restricted_replica_outside_zone(rs):
    r = find(rs, "aws:dynamodb/tableReplica:TableReplica", tag("data-class", "restricted"))
    r.props["region"] = "eu-north-1"  # EU, but not in zone 'eu'
    return r.name


def m_restricted_inline_replica_eu_west_2(rs):
    t = find(rs, "aws:dynamodb/table:Table", tag("data-class", "restricted"))
    t.props.setdefault("replicas", []).append({"regionName": "eu-west-2", "kmsKeyArn": "k", "pointInTimeRecovery": True,
                                               "deletionProtectionEnabled": True})
    return t.name


def m_field_key_replica_outside_zone(rs):
    k = find(rs, "aws:kms/replicaKey:ReplicaKey", tag("purpose", "field-encryption"))
    k.props["region"] = "eu-south-1"
    return k.name


def m_posts_replica_us(rs):
    t = find(rs, "aws:dynamodb/table:Table", tag("data-class", "personal"))
    t.props["replicas"] = [*(t.props.get("replicas") or []), {"regionName": "us-east-1", "kmsKeyArn": "k",
                                                              "pointInTimeRecovery": True, "deletionProtectionEnabled": True}]
    return t.name


def m_stray_us_east_1_cert(rs):
    c = find(rs, "aws:acm/certificate:Certificate", lambda r: r.provider is not None and r.provider.props.get("region") == "us-east-1")
    add(rs, c, c.type, "stray-cert", dict(c.props), c.provider)
    return "stray-cert"


def edge_function(rs: list[Resource]) -> Resource:
    return find(rs, "aws:lambda/function:Function", lambda r: r.provider is not None and r.provider.props.get("region") == "us-east-1")


def m_edge_whitelists_gb(rs):
    d = find(rs, "aws:cloudfront/distribution:Distribution")
    geo = d.props["restrictions"]["geoRestriction"]
    geo["locations"] = [*geo["locations"], "GB"]  # served by London's regional edge cache (eu-west-2)
    return edge_function(rs).name


def m_edge_log_group_dropped(rs):
    g = find(rs, "aws:cloudwatch/logGroup:LogGroup", lambda r: r.provider is not None and r.provider.props.get("region") == "eu-north-1")
    rs.remove(g)
    return edge_function(rs).name


def m_queue_unclassified(rs):
    q = find(rs, "aws:sqs/queue:Queue")
    q.props["tags"] = {k: v for k, v in (q.props.get("tags") or {}).items() if k != "data-class"}
    return q.name


def m_dlq_public(rs):
    q = find(rs, "aws:sqs/queue:Queue", tag("role", "dead-letter"))
    q.props["tags"] = {**q.props["tags"], "data-class": "public"}
    return q.name


def m_table_no_cmk(rs):
    t = find(rs, "aws:dynamodb/table:Table")
    t.props["serverSideEncryption"] = {"enabled": True}
    return t.name


def m_replica_no_cmk(rs):
    r = find(rs, "aws:dynamodb/tableReplica:TableReplica")
    r.props.pop("kmsKeyArn", None)
    return r.name


def m_queue_no_cmk(rs):
    q = find(rs, "aws:sqs/queue:Queue")
    q.props.pop("kmsMasterKeyId", None)
    return q.name


def m_log_group_no_cmk(rs):
    g = find(rs, "aws:cloudwatch/logGroup:LogGroup")
    g.props.pop("kmsKeyId", None)
    return g.name


def m_lambda_env_no_cmk(rs):
    f = find(rs, "aws:lambda/function:Function", lambda r: bool((r.props.get("environment") or {}).get("variables")))
    f.props.pop("kmsKeyArn", None)
    return f.name


def m_add_plain_bucket(rs):
    add(rs, rs[-1], "aws:s3/bucket:Bucket", "exports", {"tags": {"data-class": "personal"}})
    return "exports"


def m_add_topic_aws_key(rs):
    add(rs, rs[-1], "aws:sns/topic:Topic", "alerts", {"kmsMasterKeyId": "alias/aws/sns", "tags": {"data-class": "public"}})
    return "alerts"


def m_drop_zone_key(rs):
    k = find(rs, "aws:kms/replicaKey:ReplicaKey", tag("purpose", "field-encryption"))
    rs.remove(k)
    return find(rs, "aws:dynamodb/tableReplica:TableReplica", tag("data-class", "restricted")).name


def key_store(r: Resource) -> bool:
    name = r.props.get("name") or str(r.props.get("globalTableArn", "")).rsplit("/", 1)[-1]
    return name.startswith("appx-subject-keys-")


def m_key_store_backed_up(rs):
    t = find(rs, "aws:dynamodb/table:Table", key_store)
    t.props["pointInTimeRecovery"] = {"enabled": True, "recoveryPeriodInDays": 7}
    return t.name


def m_key_store_labelled_personal(rs):
    t = find(rs, "aws:dynamodb/table:Table", key_store)
    t.props["tags"] = {**t.props["tags"], "data-class": "personal"}
    return t.name


def m_key_store_outside_zone(rs):
    t = find(rs, "aws:dynamodb/table:Table", key_store)
    t.props["region"] = "eu-north-1"
    return t.name


def m_key_store_streamed(rs):
    t = find(rs, "aws:dynamodb/table:Table", key_store)
    t.props.update(streamEnabled=True, streamViewType="NEW_AND_OLD_IMAGES")
    return t.name


def m_key_store_global_table(rs):
    """The key store made a global table again, labelled like any restricted table."""
    t = find(rs, "aws:dynamodb/table:Table", key_store)
    t.props.update(streamEnabled=True, streamViewType="NEW_AND_OLD_IMAGES", tags={**t.props["tags"], "data-class": "restricted"},
                   replicas=[{"regionName": "eu-west-3", "pointInTimeRecovery": False}])
    return t.name


def m_wrapping_key_replica_outside_zone(rs):
    k = find(rs, "aws:kms/replicaKey:ReplicaKey", tag("purpose", "subject-key-wrapping"))
    k.props["region"] = "eu-south-1"
    return k.name


def m_key_rotation_off(rs):
    k = find(rs, "aws:kms/key:Key", tag("purpose", "data-at-rest"))
    k.props["enableKeyRotation"] = False
    return k.name


def m_key_bypass(rs):
    k = find(rs, "aws:kms/key:Key")
    k.props["bypassPolicyLockoutSafetyCheck"] = True
    return k.name


def m_key_public(rs):
    k = find(rs, "aws:kms/key:Key", tag("purpose", "data-at-rest"))
    policy = json.loads(k.props["policy"])
    policy["Statement"].append({"Sid": "Everyone", "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "kms:Decrypt", "Resource": "*"})
    k.props["policy"] = json.dumps(policy)
    return k.name


def m_log_forever(rs):
    g = find(rs, "aws:cloudwatch/logGroup:LogGroup")
    g.props.pop("retentionInDays", None)
    return g.name


def m_queue_14_days(rs):
    q = find(rs, "aws:sqs/queue:Queue", lambda r: tag("data-class", "personal")(r) and not r.props["tags"].get("role"))
    q.props["messageRetentionSeconds"] = 1_209_600
    return q.name


def m_dlq_as_short_as_source(rs):
    q = find(rs, "aws:sqs/queue:Queue", tag("role", "dead-letter"))
    q.props["messageRetentionSeconds"] = 345_600
    return q.name


def stream_mapping(rs) -> Resource:
    # A stream's ARN is unknown at preview; only stream mappings have a startingPosition.
    return find(rs, "aws:lambda/eventSourceMapping:EventSourceMapping", lambda r: bool(r.props.get("startingPosition")))


def m_stream_no_destination(rs):
    m = stream_mapping(rs)
    m.props.pop("destinationConfig", None)
    return m.name


def m_stream_no_bisect(rs):
    m = stream_mapping(rs)
    m.props["bisectBatchOnFunctionError"] = False
    return m.name


def m_pitr_35_days(rs):
    t = find(rs, "aws:dynamodb/table:Table", lambda r: not key_store(r))  # see m_pitr_off
    t.props["pointInTimeRecovery"] = {"enabled": True, "recoveryPeriodInDays": 35}
    return t.name


def m_tombstone_20_days(rs):
    """The tombstone lifetime before it covered backups: DLQ + redrive + stream + a day."""
    fn = find(rs, "aws:lambda/function:Function", lambda r: "APPX_TOMBSTONE_SECONDS" in ((r.props.get("environment") or {}).get("variables") or {}))
    fn.props["environment"]["variables"]["APPX_TOMBSTONE_SECONDS"] = "1728000"
    return fn.name


def m_pitr_off(rs):
    # Not the first table: resources register in no fixed order, and the first may be the
    # subject-key store, which must have no PITR (its own mutation above).
    t = find(rs, "aws:dynamodb/table:Table", lambda r: not key_store(r))
    t.props["pointInTimeRecovery"] = {"enabled": False}
    return t.name


def m_deletion_protection_off(rs):
    t = find(rs, "aws:dynamodb/tableReplica:TableReplica")
    t.props["deletionProtectionEnabled"] = False
    return t.name


def m_cloudfront_tls1(rs):
    d = find(rs, "aws:cloudfront/distribution:Distribution")
    d.props["viewerCertificate"] = {**d.props["viewerCertificate"], "minimumProtocolVersion": "TLSv1"}
    return d.name


def m_cloudfront_allow_all(rs):
    d = find(rs, "aws:cloudfront/distribution:Distribution")
    d.props["defaultCacheBehavior"] = {**d.props["defaultCacheBehavior"], "viewerProtocolPolicy": "allow-all"}
    return d.name


def m_origin_tls1(rs):
    d = find(rs, "aws:cloudfront/distribution:Distribution")
    origin = next(o for o in d.props["origins"] if o.get("customOriginConfig"))
    origin["customOriginConfig"]["originSslProtocols"] = ["TLSv1", "TLSv1.2"]
    return d.name


def m_no_waf(rs):
    d = find(rs, "aws:cloudfront/distribution:Distribution")
    d.props.pop("webAclId", None)
    return d.name


def m_api_domain_tls10(rs):
    d = find(rs, "aws:apigatewayv2/domainName:DomainName")
    d.props["domainNameConfiguration"] = {**d.props["domainNameConfiguration"], "securityPolicy": "TLS_1_0"}
    return d.name


def m_stage_no_logs(rs):
    s = find(rs, "aws:apigatewayv2/stage:Stage")
    s.props.pop("accessLogSettings", None)
    return s.name


def m_iam_star_action(rs):
    p = find(rs, "aws:iam/rolePolicy:RolePolicy")
    policy = json.loads(p.props["policy"])
    policy["Statement"][0]["Action"] = "*"
    p.props["policy"] = json.dumps(policy)
    return p.name


def m_iam_dynamodb_star_resource(rs):
    p = find(rs, "aws:iam/rolePolicy:RolePolicy", lambda r: "dynamodb:" in str(r.props.get("policy")))
    policy = json.loads(p.props["policy"])
    for st in policy["Statement"]:
        if any(str(a).startswith("dynamodb:") for a in ([st["Action"]] if isinstance(st["Action"], str) else st["Action"])):
            st["Resource"] = "*"
    p.props["policy"] = json.dumps(policy)
    return p.name


def m_permission_no_source(rs):
    p = find(rs, "aws:lambda/permission:Permission")
    p.props.pop("sourceArn", None)
    return p.name


def m_public_function_url(rs):
    f = find(rs, "aws:lambda/function:Function")
    add(rs, f, "aws:lambda/functionUrl:FunctionUrl", "api-url", {"functionName": f.props.get("name"), "authorizationType": "NONE"})
    return "api-url"


def m_legacy_global_table(rs):
    t = find(rs, "aws:dynamodb/table:Table", tag("data-class", "restricted"))
    add(rs, t, "aws:dynamodb/globalTable:GlobalTable", "legacy-restricted",
        {"name": t.props.get("name"), "replicas": [{"regionName": "eu-west-1"}, {"regionName": "eu-west-2"}]})
    return "legacy-restricted"


def m_queue_no_dlq(rs):
    q = find(rs, "aws:sqs/queue:Queue", lambda r: not (r.props.get("tags") or {}).get("role"))
    q.props.pop("redrivePolicy", None)
    q.dependencies = [d for d in q.dependencies if "aws:sqs/queue:Queue" not in d]
    for r in [r for r in rs if r.type == "aws:sqs/redrivePolicy:RedrivePolicy"]:
        rs.remove(r)
    return q.name


def m_latency_no_health_check(rs):
    r = find(rs, "aws:route53/record:Record", lambda r: bool(r.props.get("latencyRoutingPolicies")))
    r.props.pop("healthCheckId", None)
    return r.name


def m_api_concurrency_undersized(rs):
    f = find(rs, "aws:lambda/function:Function", lambda r: r.props.get("name") == "appx-api")
    f.props["reservedConcurrentExecutions"] = 50  # the shipped profile needs ~280 in eu-central-1 with a neighbour lost
    return f.name


# Preview-only: a value the rule needs is unknown, as a first `pulumi preview` hands it over.

def computed_from(r: Resource, prop: str, source: Resource) -> None:
    """`prop` of `r` now comes from an output of `source` (unknown at preview, dependency recorded)."""
    r.property_dependencies[prop] = [source.urn]
    r.dependencies = sorted({*r.dependencies, source.urn})


def m_iam_document_in_apply(rs):
    p = find(rs, "aws:iam/rolePolicy:RolePolicy")
    p.props["policy"] = UNKNOWN  # the statements built inside an apply over a table's arn
    computed_from(p, "policy", find(rs, "aws:dynamodb/table:Table"))
    return p.name


def m_table_key_from_log_group(rs):
    t = find(rs, "aws:dynamodb/table:Table")
    t.props["serverSideEncryption"] = {"enabled": True, "kmsKeyArn": UNKNOWN}
    computed_from(t, "serverSideEncryption", find(rs, "aws:cloudwatch/logGroup:LogGroup"))
    return t.name


def m_queue_key_from_topic(rs):
    q = find(rs, "aws:sqs/queue:Queue")
    q.props["kmsMasterKeyId"] = UNKNOWN
    computed_from(q, "kmsMasterKeyId", find(rs, "aws:sns/topic:Topic"))
    return q.name


def m_redrive_in_apply(rs):
    q = find(rs, "aws:sqs/queue:Queue", lambda r: bool(r.props.get("redrivePolicy")))
    q.props["redrivePolicy"] = UNKNOWN  # maxReceiveCount hidden with the DLQ's arn inside an apply
    return q.name


def m_waf_from_certificate(rs):
    d = find(rs, "aws:cloudfront/distribution:Distribution")
    d.props["webAclId"] = UNKNOWN
    computed_from(d, "webAclId", find(rs, "aws:acm/certificate:Certificate"))
    return d.name


def m_health_check_from_certificate(rs):
    r = find(rs, "aws:route53/record:Record", lambda r: bool(r.props.get("latencyRoutingPolicies")))
    r.props["healthCheckId"] = UNKNOWN
    computed_from(r, "healthCheckId", find(rs, "aws:acm/certificate:Certificate"))
    return r.name


def m_edge_log_key_from_certificate(rs):
    g = find(rs, "aws:cloudwatch/logGroup:LogGroup", lambda r: r.provider is not None and r.provider.props.get("region") == "eu-north-1")
    g.props["kmsKeyId"] = UNKNOWN
    computed_from(g, "kmsKeyId", find(rs, "aws:acm/certificate:Certificate"))
    return edge_function(rs).name


def m_edge_geo_restriction_in_apply(rs):
    d = find(rs, "aws:cloudfront/distribution:Distribution")
    d.props["restrictions"] = {"geoRestriction": {"restrictionType": UNKNOWN, "locations": UNKNOWN}}
    return d.name


# Both modes: a label that lies about what a copy holds.

def m_restricted_replica_relabelled_and_moved(rs):
    r = find(rs, "aws:dynamodb/tableReplica:TableReplica", tag("data-class", "restricted"))
    r.props["tags"] = {**r.props["tags"], "data-class": "personal"}
    r.props["tags"].pop("residency-zone", None)
    r.props["region"] = "eu-north-1"  # EU, outside zone 'eu': only the derived identity tells
    return r.name


def m_replica_relabelled(rs):
    r = find(rs, "aws:dynamodb/tableReplica:TableReplica", tag("data-class", "restricted"))
    r.props["tags"] = {**r.props["tags"], "data-class": "personal"}
    return r.name


def m_replica_key_relabelled_and_moved(rs):
    k = find(rs, "aws:kms/replicaKey:ReplicaKey", tag("purpose", "field-encryption"))
    k.props["tags"] = {"app": "appx"}
    k.props["region"] = "eu-south-1"
    return k.name


def m_replica_key_other_zone(rs):
    k = find(rs, "aws:kms/replicaKey:ReplicaKey", tag("residency-zone", "eu"))
    k.props["tags"] = {**k.props["tags"], "residency-zone": "de"}
    return k.name


# Both modes: a known value that only looks right.

def m_table_aws_managed_key(rs):
    t = find(rs, "aws:dynamodb/table:Table")
    t.props["serverSideEncryption"] = {"enabled": True, "kmsKeyArn": "alias/aws/dynamodb"}
    t.property_dependencies.pop("serverSideEncryption", None)
    return t.name


def m_kms_key_wildcard_without_alias(rs):
    p = find(rs, "aws:iam/rolePolicy:RolePolicy", lambda r: "kms:ResourceAliases" in str(r.props.get("policy")))
    policy = json.loads(p.props["policy"])
    for st in policy["Statement"]:
        st.get("Condition", {}).pop("ForAnyValue:StringEquals", None)
    p.props["policy"] = json.dumps(policy)
    return p.name


@dataclass(frozen=True)
class Mutation:
    rule: str
    stack: str
    what: str
    apply: Callable[[list[Resource]], str]
    modes: tuple[str, ...] = MODES


MUTATIONS = [
    Mutation("restricted-data-residency", CELL, "restricted TableReplica relabelled personal, untagged zone, moved "
             "to eu-north-1", m_restricted_replica_relabelled_and_moved),
    Mutation("data-class-propagation", CELL, "restricted TableReplica tagged data-class personal", m_replica_relabelled),
    Mutation("field-key-residency", CELL, "field-key replica stripped of its tags and moved to eu-south-1",
             m_replica_key_relabelled_and_moved),
    Mutation("data-class-propagation", CELL, "zone 'eu' field-key replica tagged residency-zone=de", m_replica_key_other_zone),
    Mutation("iam-no-wildcard-action", CELL, "IAM document built inside an apply (unknown at preview)",
             m_iam_document_in_apply, ("preview",)),
    Mutation("iam-data-actions-scoped", CELL, "IAM document built inside an apply (unknown at preview)",
             m_iam_document_in_apply, ("preview",)),
    Mutation("iam-data-actions-scoped", CELL, "kms actions on key/* without the kms:ResourceAliases condition",
             m_kms_key_wildcard_without_alias),
    Mutation("dynamodb-cmk-encryption", HOME, "table key reference computed from a log group, not a KMS key",
             m_table_key_from_log_group, ("preview",)),
    Mutation("dynamodb-cmk-encryption", HOME, "table encrypted with the AWS-managed alias/aws/dynamodb",
             m_table_aws_managed_key),
    Mutation("sqs-cmk-encryption", CELL, "queue key reference computed from an SNS topic, not a KMS key",
             m_queue_key_from_topic, ("preview",)),
    Mutation("sqs-dead-letter-queue", CELL, "redrive policy built inside an apply (maxReceiveCount unknown)",
             m_redrive_in_apply, ("preview",)),
    Mutation("cloudfront-waf", GLOBAL, "webAclId computed from a certificate, not a WAF web ACL",
             m_waf_from_certificate, ("preview",)),
    Mutation("latency-records-health-checked", GLOBAL, "healthCheckId computed from a certificate",
             m_health_check_from_certificate, ("preview",)),
    Mutation("edge-function-logs-where-it-runs", GLOBAL, "edge log group's key computed from a certificate, not a KMS key",
             m_edge_log_key_from_certificate, ("preview",)),
    Mutation("edge-function-logs-where-it-runs", GLOBAL, "geo restriction built inside an apply (unknown at preview)",
             m_edge_geo_restriction_in_apply, ("preview",)),
    Mutation("eu-regions", HOME, "personal table created through a London (eu-west-2) provider", m_table_london),
    Mutation("eu-regions", GLOBAL, "Lambda@Edge function given environment variables (no longer edge-shaped)", m_edge_env),
    Mutation("eu-regions", CELL, "restricted TableReplica moved to eu-west-2", m_replica_london),
    Mutation("eu-regions", CELL, "ordinary regional Lambda moved to us-east-1", m_lambda_us_east_1),
    Mutation("restricted-data-residency", CELL, "restricted TableReplica moved to eu-north-1 (EU, outside zone)", m_restricted_replica_outside_zone),
    Mutation("restricted-data-residency", HOME, "restricted table gets an inline replica in eu-west-2", m_restricted_inline_replica_eu_west_2),
    Mutation("field-key-residency", CELL, "field-key replica moved to eu-south-1", m_field_key_replica_outside_zone),
    Mutation("field-key-residency", CELL, "subject-key wrapping replica moved to eu-south-1", m_wrapping_key_replica_outside_zone),
    Mutation("dynamodb-pitr", HOME, "subject-key store backed up (PITR on)", m_key_store_backed_up),
    Mutation("data-classification", CELL, "subject-key store labelled personal", m_key_store_labelled_personal),
    Mutation("restricted-data-residency", CELL, "subject-key store moved to eu-north-1", m_key_store_outside_zone),
    Mutation("key-store-single-copy", CELL, "subject-key store streamed", m_key_store_streamed),
    Mutation("key-store-single-copy", HOME, "subject-key store made a global table, labelled restricted", m_key_store_global_table),
    Mutation("table-replicas-in-eu", HOME, "personal table gets an inline replica in us-east-1", m_posts_replica_us),
    Mutation("edge-carve-out-wired", GLOBAL, "stray us-east-1 certificate not used by CloudFront", m_stray_us_east_1_cert),
    Mutation("edge-function-logs-where-it-runs", GLOBAL, "distribution whitelists GB (London edge cache, outside the EU)", m_edge_whitelists_gb),
    Mutation("edge-function-logs-where-it-runs", GLOBAL, "edge log group in eu-north-1 (an edge region) removed", m_edge_log_group_dropped),
    Mutation("data-classification", CELL, "queue loses its data-class tag", m_queue_unclassified),
    Mutation("data-class-propagation", CELL, "DLQ of a personal queue classified public", m_dlq_public),
    Mutation("dynamodb-cmk-encryption", HOME, "table SSE without a CMK", m_table_no_cmk),
    Mutation("dynamodb-cmk-encryption", CELL, "TableReplica without kmsKeyArn", m_replica_no_cmk),
    Mutation("sqs-cmk-encryption", CELL, "queue without a CMK", m_queue_no_cmk),
    Mutation("log-group-cmk-encryption", CELL, "log group without a CMK", m_log_group_no_cmk),
    Mutation("lambda-env-cmk-encryption", CELL, "function env vars without a CMK", m_lambda_env_no_cmk),
    Mutation("s3-cmk-encryption", CELL, "unencrypted S3 bucket added", m_add_plain_bucket),
    Mutation("sns-cmk-encryption", CELL, "SNS topic with the AWS-managed key added", m_add_topic_aws_key),
    Mutation("restricted-table-zone-key", CELL, "zone field-key replica removed next to a restricted replica", m_drop_zone_key),
    Mutation("kms-key-rotation", CELL, "data key rotation off", m_key_rotation_off),
    Mutation("kms-no-lockout-bypass", CELL, "key bypasses the lockout safety check", m_key_bypass),
    Mutation("kms-no-public-principal", CELL, "key policy allows Principal AWS:*", m_key_public),
    Mutation("log-retention", CELL, "log group without retention", m_log_forever),
    Mutation("queue-retention", CELL, "personal queue keeps messages 14 days", m_queue_14_days),
    Mutation("pitr-recovery-period", HOME, "PITR recovery period 35 days", m_pitr_35_days),
    Mutation("dynamodb-pitr", HOME, "PITR off", m_pitr_off),
    Mutation("erasure-outlives-backups", HOME, "tombstones kept 20 days, replicas' backups 35", m_tombstone_20_days),
    Mutation("dynamodb-deletion-protection", CELL, "TableReplica deletion protection off", m_deletion_protection_off),
    Mutation("cloudfront-viewer-tls", GLOBAL, "CloudFront minimum TLSv1", m_cloudfront_tls1),
    Mutation("cloudfront-viewer-tls", GLOBAL, "CloudFront default behavior allow-all", m_cloudfront_allow_all),
    Mutation("cloudfront-origin-tls", GLOBAL, "origin allows TLSv1", m_origin_tls1),
    Mutation("cloudfront-waf", GLOBAL, "WAF detached", m_no_waf),
    Mutation("api-domain-tls", CELL, "API domain on TLS_1_0", m_api_domain_tls10),
    Mutation("api-stage-access-logging", CELL, "stage without access logs", m_stage_no_logs),
    Mutation("iam-no-wildcard-action", CELL, "role policy allows Action *", m_iam_star_action),
    Mutation("iam-data-actions-scoped", CELL, "dynamodb actions on Resource *", m_iam_dynamodb_star_resource),
    Mutation("lambda-permission-source-arn", CELL, "invoke permission without sourceArn", m_permission_no_source),
    Mutation("lambda-url-auth", CELL, "public function URL (auth NONE) added", m_public_function_url),
    Mutation("dynamodb-no-legacy-global-table", CELL, "legacy GlobalTable stitched over the restricted table", m_legacy_global_table),
    Mutation("sqs-dead-letter-queue", CELL, "queue loses its redrive policy", m_queue_no_dlq),
    Mutation("sqs-dead-letter-queue", CELL, "DLQ retains no longer than its source", m_dlq_as_short_as_source),
    Mutation("stream-on-failure-destination", CELL, "stream mapping loses its on-failure destination", m_stream_no_destination),
    Mutation("stream-on-failure-destination", HOME, "stream mapping stops bisecting failing batches", m_stream_no_bisect),
    Mutation("latency-records-health-checked", GLOBAL, "latency record without health check", m_latency_no_health_check),
    Mutation("cell-capacity-n-1", CELL, "API reserved concurrency below the N-1 demand", m_api_concurrency_undersized),
]


@dataclass
class Outcome:
    mutation: Mutation
    mode: str
    killed: bool
    detail: str


def run_mutations(stacks: dict[str, list[Resource]] | None = None, analyzer: OfflineAnalyzer | None = None,
                  only: list[str] | None = None, mode: str = "update") -> list[Outcome]:
    """Every mutation of `mode` applied to the stacks as that mode sees them (`stacks`: already loaded)."""
    analyzer = analyzer or OfflineAnalyzer()
    mutations = [m for m in MUTATIONS if mode in m.modes and (not only or m.stack in only)]
    if stacks is None:
        stacks = load_stacks(sorted({m.stack for m in mutations}), mode)
    outcomes = []
    for m in mutations:
        if m.stack not in stacks:
            continue
        resources = copy.deepcopy(stacks[m.stack])
        try:
            target = m.apply(resources)
        except NoTarget as exc:
            outcomes.append(Outcome(m, mode, False, f"mutation found no target: {exc}"))
            continue
        result = analyzer.evaluate(resources)
        hits = [d for d in result.diagnostics if d.policy == m.rule and d.urn.endswith(f"::{target}")]
        fixes = [r for r in result.remediations if r.policy == m.rule and r.urn.endswith(f"::{target}")]
        if hits:
            outcomes.append(Outcome(m, mode, True, f"{hits[0].level}: {hits[0].message}"))
        elif fixes:
            outcomes.append(Outcome(m, mode, True, f"remediated: {fixes[0].changed()}"))
        else:
            skipped = sorted({f"{k.policy} {k.property}" for k in result.skipped})
            outcomes.append(Outcome(m, mode, False, f"survived; other reports: {sorted({d.policy for d in result.diagnostics})}"
                                    + (f"; skipped: {skipped}" if skipped else "")))
    return outcomes


def load_stacks(names: list[str], mode: str = "update") -> dict[str, list[Resource]]:
    from offline.stack_runner import run_stack

    return {name: from_stack_run(run_stack(name, mode=mode)) for name in names}


def kill_rate(outcomes: list[Outcome]) -> str:
    killed = sum(o.killed for o in outcomes)
    rate = 100.0 * killed / len(outcomes) if outcomes else 0.0
    return f"{killed}/{len(outcomes)} = {rate:.1f}% over {len({o.mutation.rule for o in outcomes})} rules"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m policy.mutations", description=__doc__.splitlines()[0])
    parser.add_argument("--mode", action="append", choices=MODES, help="update and/or preview (default: both)")
    parser.add_argument("--stack", action="append", help="only mutations of this stack (repeatable)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    analyzer = OfflineAnalyzer()
    by_mode = {mode: run_mutations(analyzer=analyzer, only=args.stack, mode=mode) for mode in (args.mode or MODES)}
    if args.json:
        print(json.dumps({mode: {
            "killed": sum(o.killed for o in outcomes), "total": len(outcomes),
            "killRate": 100.0 * sum(o.killed for o in outcomes) / len(outcomes) if outcomes else 0.0,
            "mutations": [{"rule": o.mutation.rule, "stack": o.mutation.stack, "what": o.mutation.what,
                           "killed": o.killed, "detail": o.detail} for o in outcomes]}
            for mode, outcomes in by_mode.items()}, indent=2))
    else:
        for mode, outcomes in by_mode.items():
            for o in outcomes:
                print(f"{'KILLED ' if o.killed else 'SURVIVED'} [{mode}] {o.mutation.rule:32} {o.mutation.stack:13} "
                      f"{o.mutation.what}")
                if not o.killed:
                    print(f"         {o.detail}")
        for mode, outcomes in by_mode.items():
            print(f"kill rate ({mode}): {kill_rate(outcomes)}")
    return 0 if all(outcomes and all(o.killed for o in outcomes) for outcomes in by_mode.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
