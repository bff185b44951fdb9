"""Violating variants of the synthetic baseline: (rule, resource, what, change). Every rule has at
least one; several rules have one per way of getting it wrong."""

from __future__ import annotations

import json

from tests.policy.baseline import EUC1, EUW3, RESIDENCY, USE1, arn, provider, replica


def setp(path: str, value):
    """change(): set a dotted path in props (list indexes as numbers); value None deletes."""
    def change(r):
        keys = path.split(".")
        node = r.props
        for k in keys[:-1]:
            node = node[int(k)] if isinstance(node, list) else node.setdefault(k, {})
        last = keys[-1]
        if isinstance(node, list):
            node[int(last)] = value
        elif value is None:
            node.pop(last, None)
        else:
            node[last] = value
    return change


def set_type(type_: str):
    def change(r):
        r.urn = r.urn.replace(f"::{r.type}::", f"::{type_}::")
        r.type = type_
    return change


def set_provider(p):
    def change(r):
        r.provider = p
    return change


def set_doc(key: str, statements):
    def change(r):
        r.props[key] = json.dumps({"Version": "2012-10-17", "Statement": statements})
    return change


def both(*changes):
    def change(r):
        for c in changes:
            c(r)
    return change


def drop_deps(r):
    r.dependencies = []


LONDON = provider("eu-west-2", "eu-west-2")
PUBLIC = [{"Sid": "Open", "Effect": "Allow", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*"}]
PUBLIC_AWS = [{"Effect": "Allow", "Principal": {"AWS": ["*"]}, "Action": "kms:*", "Resource": "*"}]

VARIANTS = [
    # eu-regions
    ("eu-regions", "appx-posts", "table through a London provider", set_provider(LONDON)),
    ("eu-regions", "appx-posts", "table with own region us-east-1", setp("region", "us-east-1")),
    ("eu-regions", "appx-deferred", "queue through the us-east-1 provider", set_provider(USE1)),
    ("eu-regions", "api", "ordinary Lambda in us-east-1", set_provider(USE1)),
    ("eu-regions", "edge", "edge-shaped function with env vars", setp("environment", {"variables": {"A": "1"}})),
    ("eu-regions", "edge-waf", "REGIONAL WAF in us-east-1", setp("scope", "REGIONAL")),
    ("eu-regions", "edge-logs", "non-edge log group in us-east-1", setp("name", "/appx/audit")),
    ("eu-regions", "data-key", "data key in us-east-1", set_provider(USE1)),
    ("eu-regions", "api-logs", "no region at all", set_provider(None)),
    # edge-function-logs-where-it-runs (changes to other resources: apply_special)
    ("edge-function-logs-where-it-runs", "edge", "GB whitelisted: may run in London (eu-west-2)", lambda r: None),
    ("edge-function-logs-where-it-runs", "edge", "edge region without its log group", lambda r: None),
    ("edge-function-logs-where-it-runs", "edge", "edge log group without a CMK", lambda r: None),
    ("edge-function-logs-where-it-runs", "edge", "distribution without a geo whitelist", lambda r: None),
    ("edge-function-logs-where-it-runs", "edge", "custom log group, pre-created nowhere", setp("loggingConfig", {"logGroup": "/appx/edge"})),
    # restricted-data-residency
    ("restricted-data-residency", "appx-restricted-eu", "replica in eu-west-2", setp("replicas.0.regionName", "eu-west-2")),
    ("restricted-data-residency", "appx-restricted-de", "de table replicated to eu-west-1", setp("replicas", [{"regionName": "eu-west-1"}])),
    ("restricted-data-residency", "appx-restricted-eu-eu-west-3", "TableReplica of the zone-de table in eu-west-3",
     setp("globalTableArn", arn("dynamodb", "eu-central-1", "table/appx-restricted-de"))),
    # identity over labels: the replica's zone comes from the table it copies, not from its tags
    ("restricted-data-residency", "appx-restricted-eu-eu-west-3", "restricted replica relabelled personal, untagged, in eu-north-1",
     both(setp("tags.data-class", "personal"), setp("tags.residency-zone", None), set_provider(provider("eu-north-1", "eu-north-1")))),
    ("restricted-data-residency", "appx-restricted-eu-eu-west-3", "replica of a table outside the table layouts",
     setp("globalTableArn", arn("dynamodb", "eu-west-1", "table/appx-unlisted"))),
    ("restricted-data-residency", "appx-restricted-eu", "no zone tag", setp("tags.residency-zone", None)),
    ("restricted-data-residency", "appx-restricted-eu", "unknown zone", setp("tags.residency-zone", "us")),
    ("restricted-data-residency", "appx-subject-keys-eu", "key store replicated to eu-west-2", setp("replicas", [replica("eu-west-2")])),
    ("restricted-data-residency", "appx-subject-keys-eu-eu-west-3", "key store copy with misleading tags in eu-north-1",
     both(setp("tags", {"data-class": "public"}), set_provider(provider("eu-north-1", "eu-north-1")))),
    # field-key-residency
    ("field-key-residency", "field-key-eu-eu-west-3", "eu key replicated to eu-north-1", set_provider(provider("eu-north-1", "eu-north-1"))),
    ("field-key-residency", "field-key-de", "de key in eu-west-1", set_provider(None)),
    ("field-key-residency", "field-key-eu-eu-west-3", "untagged replica key in eu-north-1",
     both(setp("tags", None), set_provider(provider("eu-north-1", "eu-north-1")))),
    ("field-key-residency", "field-key-eu-eu-west-3", "replica of a key outside every zone's home region",
     setp("primaryKeyArn", arn("kms", "eu-north-1", "key/mrk-9"))),
    ("field-key-residency", "subject-key-wrapping-eu", "eu wrapping key created in eu-north-1", set_provider(provider("eu-north-1", "eu-north-1"))),
    # table-replicas-in-eu
    ("table-replicas-in-eu", "appx-posts", "posts replica in us-east-1", setp("replicas.1.regionName", "us-east-1")),
    ("table-replicas-in-eu", "appx-feed", "feed replica in eu-central-2 (Zurich)", setp("replicas.0.regionName", "eu-central-2")),
    # edge-carve-out-wired
    ("edge-carve-out-wired", "edge-waf", "WAF not attached to the distribution", lambda r: None),  # see test: deps cut
    # data-classification
    ("data-classification", "appx-deferred", "queue without data-class", setp("tags", None)),
    ("data-classification", "api-logs", "log group with invalid class", setp("tags.data-class", "secret")),
    ("data-classification", "exports", "bucket without tags", setp("tags", {})),
    ("data-classification", "alarms", "topic without class", setp("tags", None)),
    ("data-classification", "appx-subject-keys-eu", "key store labelled personal", setp("tags.data-class", "personal")),
    ("data-classification", "appx-subject-keys-eu-eu-west-3", "key store copy labelled restricted", setp("tags.data-class", "restricted")),
    # data-class-propagation
    ("data-class-propagation", "appx-restricted-eu-eu-west-3", "replica downgraded to personal", setp("tags.data-class", "personal")),
    ("data-class-propagation", "appx-deferred-dlq", "DLQ classified public", setp("tags.data-class", "public")),
    ("data-class-propagation", "field-key-eu-eu-west-3", "replica key of another zone", setp("tags.residency-zone", "de")),
    ("data-class-propagation", "appx-restricted-eu-eu-west-3", "replica tagged with another zone", setp("tags.residency-zone", "de")),
    # dynamodb-cmk-encryption
    ("dynamodb-cmk-encryption", "appx-posts", "no SSE", setp("serverSideEncryption", None)),
    ("dynamodb-cmk-encryption", "appx-feed", "SSE without CMK", setp("serverSideEncryption", {"enabled": True})),
    ("dynamodb-cmk-encryption", "appx-posts", "replica without kmsKeyArn", setp("replicas.0.kmsKeyArn", None)),
    ("dynamodb-cmk-encryption", "appx-restricted-eu-eu-west-3", "TableReplica without kmsKeyArn", setp("kmsKeyArn", None)),
    # sqs-cmk-encryption
    ("sqs-cmk-encryption", "appx-deferred", "queue without CMK", setp("kmsMasterKeyId", None)),
    ("sqs-cmk-encryption", "appx-deferred-dlq", "DLQ with AWS-managed key", setp("kmsMasterKeyId", "alias/aws/sqs")),
    # log-group-cmk-encryption
    ("log-group-cmk-encryption", "api-logs", "log group without CMK", setp("kmsKeyId", None)),
    # lambda-env-cmk-encryption
    ("lambda-env-cmk-encryption", "api", "env vars without CMK", setp("kmsKeyArn", None)),
    # s3-cmk-encryption
    ("s3-cmk-encryption", "exports-sse", "AES256 default encryption", setp("rules", [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "AES256"}}])),
    ("s3-cmk-encryption", "exports", "bucket without encryption config", drop_deps),  # applied to the SSE resource in the test
    # sns-cmk-encryption
    ("sns-cmk-encryption", "alarms", "topic without key", setp("kmsMasterKeyId", None)),
    ("sns-cmk-encryption", "alarms", "topic with AWS-managed key", setp("kmsMasterKeyId", "alias/aws/sns")),
    # restricted-table-zone-key
    ("restricted-table-zone-key", "appx-restricted-de", "de table without a de key", lambda r: None),  # key removed in test
    ("restricted-table-zone-key", "appx-restricted-eu-eu-west-3", "replica in a region without the zone key", set_provider(EUC1)),
    # kms-key-rotation
    ("kms-key-rotation", "data-key", "rotation off", setp("enableKeyRotation", False)),
    ("kms-key-rotation", "edge-logs-key", "rotation unset", setp("enableKeyRotation", None)),
    # kms-no-lockout-bypass
    ("kms-no-lockout-bypass", "data-key", "bypass on key", setp("bypassPolicyLockoutSafetyCheck", True)),
    ("kms-no-lockout-bypass", "field-key-eu-eu-west-3", "bypass on replica key", setp("bypassPolicyLockoutSafetyCheck", True)),
    # kms-no-public-principal
    ("kms-no-public-principal", "data-key", "Principal *", set_doc("policy", PUBLIC)),
    ("kms-no-public-principal", "field-key-eu", "Principal AWS [*]", set_doc("policy", PUBLIC_AWS)),
    ("kms-no-public-principal", "field-key-eu-eu-west-3", "unparseable key policy", setp("policy", "{not json")),
    # log-retention
    ("log-retention", "api-logs", "retention unset", setp("retentionInDays", None)),
    ("log-retention", "edge-logs", "retention 365", setp("retentionInDays", 365)),
    # queue-retention
    ("queue-retention", "appx-deferred", "14 days", setp("messageRetentionSeconds", 1209600)),
    ("queue-retention", "appx-deferred-dlq", "DLQ beyond the dead-letter maximum", setp("messageRetentionSeconds", 1_209_601)),
    # pitr-recovery-period
    ("pitr-recovery-period", "appx-posts", "default 35 days", setp("pointInTimeRecovery.recoveryPeriodInDays", None)),
    ("pitr-recovery-period", "appx-restricted-eu", "30 days", setp("pointInTimeRecovery.recoveryPeriodInDays", 30)),
    # dynamodb-pitr
    ("dynamodb-pitr", "appx-feed", "PITR off", setp("pointInTimeRecovery", {"enabled": False})),
    ("dynamodb-pitr", "appx-posts", "replica PITR off", setp("replicas.0.pointInTimeRecovery", False)),
    ("dynamodb-pitr", "appx-restricted-eu-eu-west-3", "TableReplica PITR off", setp("pointInTimeRecovery", None)),
    ("dynamodb-pitr", "appx-subject-keys-eu", "key store backed up", setp("pointInTimeRecovery", {"enabled": True, "recoveryPeriodInDays": 7})),
    ("dynamodb-pitr", "appx-subject-keys-eu-eu-west-3", "key store copy backed up", setp("pointInTimeRecovery", {"enabled": True})),
    # key-store-single-copy (recognised by what the table holds, whatever its tags)
    ("key-store-single-copy", "appx-subject-keys-eu", "key store streamed", setp("streamEnabled", True)),
    ("key-store-single-copy", "appx-subject-keys-eu-eu-west-3", "untagged key store copy as a global table",
     both(setp("tags", None), setp("replicas", [{**replica("eu-central-1"), "pointInTimeRecovery": False}]))),
    ("key-store-single-copy", "appx-restricted-eu-eu-west-3", "TableReplica of the key store labelled restricted",
     setp("globalTableArn", arn("dynamodb", "eu-west-1", "table/appx-subject-keys-eu"))),
    ("dynamodb-pitr", "appx-restricted-eu-eu-west-3", "TableReplica of the key store backed up",
     setp("globalTableArn", arn("dynamodb", "eu-west-1", "table/appx-subject-keys-eu"))),
    ("dynamodb-pitr", "appx-posts", "PITR off on a table tagged like a key store", both(setp("pointInTimeRecovery", {"enabled": False}), setp("tags.data-class", "key-material"))),
    # dynamodb-deletion-protection
    ("dynamodb-deletion-protection", "appx-restricted-eu", "off on table", setp("deletionProtectionEnabled", False)),
    ("dynamodb-deletion-protection", "appx-posts", "off on replica", setp("replicas.1.deletionProtectionEnabled", None)),
    ("dynamodb-deletion-protection", "appx-restricted-eu-eu-west-3", "off on TableReplica", setp("deletionProtectionEnabled", None)),
    # cloudfront-viewer-tls
    ("cloudfront-viewer-tls", "cdn", "TLSv1 minimum", setp("viewerCertificate.minimumProtocolVersion", "TLSv1")),
    ("cloudfront-viewer-tls", "cdn", "TLSv1.2_2019", setp("viewerCertificate.minimumProtocolVersion", "TLSv1.2_2019")),
    ("cloudfront-viewer-tls", "cdn", "default certificate", setp("viewerCertificate", {"cloudfrontDefaultCertificate": True})),
    ("cloudfront-viewer-tls", "cdn", "allow-all default behavior", setp("defaultCacheBehavior.viewerProtocolPolicy", "allow-all")),
    ("cloudfront-viewer-tls", "cdn", "allow-all ordered behavior", setp("orderedCacheBehaviors.0.viewerProtocolPolicy", "allow-all")),
    # cloudfront-origin-tls
    ("cloudfront-origin-tls", "cdn", "http origin", setp("origins.0.customOriginConfig.originProtocolPolicy", "match-viewer")),
    ("cloudfront-origin-tls", "cdn", "TLSv1 to origin", setp("origins.0.customOriginConfig.originSslProtocols", ["TLSv1", "TLSv1.2"])),
    # cloudfront-waf
    ("cloudfront-waf", "cdn", "no WAF", setp("webAclId", None)),
    # api-domain-tls
    ("api-domain-tls", "api-domain", "TLS 1.0", setp("domainNameConfiguration.securityPolicy", "TLS_1_0")),
    # api-stage-access-logging
    ("api-stage-access-logging", "api-stage", "no access logs", setp("accessLogSettings", None)),
    # iam-no-wildcard-action
    ("iam-no-wildcard-action", "api-role", "inline *", lambda r: wildcard_inline(r)),
    ("iam-no-wildcard-action", "api-kms", "kms:*", set_doc("policy", [{"Effect": "Allow", "Action": "kms:*", "Resource": "arn:aws:kms:eu-west-1:1:key/x"}])),
    ("iam-no-wildcard-action", "api-kms", "Action *", set_doc("policy", [{"Effect": "Allow", "Action": "*", "Resource": "*"}])),
    ("iam-no-wildcard-action", "api-kms", "NotAction", set_doc("policy", [{"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}])),
    # iam-data-actions-scoped
    ("iam-data-actions-scoped", "api-kms", "kms:Decrypt on *", set_doc("policy", [{"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*"}])),
    ("iam-data-actions-scoped", "api-kms", "dynamodb:Query on *", set_doc("policy", [{"Effect": "Allow", "Action": ["dynamodb:Query"], "Resource": ["*"]}])),
    # lambda-permission-source-arn
    ("lambda-permission-source-arn", "api-invoke", "no sourceArn", setp("sourceArn", None)),
    # dynamodb-no-legacy-global-table: the restricted table re-created as a legacy global table
    ("dynamodb-no-legacy-global-table", "appx-restricted-eu", "legacy GlobalTable", set_type("aws:dynamodb/globalTable:GlobalTable")),
    # lambda-url-auth
    ("lambda-url-auth", "api-url", "auth NONE", setp("authorizationType", "NONE")),
    # sqs-dead-letter-queue
    ("sqs-dead-letter-queue", "appx-deferred", "no redrive policy", both(setp("redrivePolicy", None), drop_deps)),
    ("sqs-dead-letter-queue", "appx-deferred-dlq", "DLQ retains as long as its source", setp("messageRetentionSeconds", 345600)),
    ("sqs-dead-letter-queue", "appx-deferred-dlq", "DLQ retention unset (4 days, as its source)", setp("messageRetentionSeconds", None)),
    # erasure-outlives-backups (the replica appx-restricted-eu-eu-west-3 keeps AWS's 35-day default)
    ("erasure-outlives-backups", "api", "tombstones kept 20 days", setp("environment.variables.APPX_TOMBSTONE_SECONDS", "1728000")),
    ("erasure-outlives-backups", "api", "tombstones kept exactly the PITR window", setp("environment.variables.APPX_TOMBSTONE_SECONDS", "3024000")),
    ("erasure-outlives-backups", "api", "tombstone lifetime not a number", setp("environment.variables.APPX_TOMBSTONE_SECONDS", "36d")),
    # stream-on-failure-destination
    ("stream-on-failure-destination", "stream-posts", "no on-failure destination", both(setp("destinationConfig", None), drop_deps)),
    ("stream-on-failure-destination", "stream-posts", "no bisection", setp("bisectBatchOnFunctionError", False)),
    ("sqs-dead-letter-queue", "appx-deferred", "maxReceiveCount 100", setp("redrivePolicy", json.dumps({"deadLetterTargetArn": "arn:aws:sqs:eu-west-1:1:appx-deferred-dlq", "maxReceiveCount": 100}))),
    # latency-records-health-checked
    ("latency-records-health-checked", "eu-origin-eu-west-1", "no health check", both(setp("healthCheckId", None), drop_deps)),
    ("latency-records-health-checked", "eu-origin-eu-west-1", "health check from elsewhere", drop_deps),
    # cell-capacity-n-1
    ("cell-capacity-n-1", "api", "API reserved concurrency below the N-1 demand", setp("reservedConcurrentExecutions", 20)),
    ("cell-capacity-n-1", "api-stage", "stage throttle below the N-1 demand", setp("defaultRouteSettings.throttlingRateLimit", 200)),
    ("cell-capacity-n-1", "worker", "worker reserved concurrency cannot drain deferred writes", setp("reservedConcurrentExecutions", 2)),
    ("cell-capacity-n-1", "api", "reservations leave Lambda@Edge and the 100 unreserved no room", setp("reservedConcurrentExecutions", 700)),
    ("cell-capacity-n-1", "worker-source", "SQS mapping maximum concurrency below the drain rate", setp("scalingConfig.maximumConcurrency", 2)),
]


def wildcard_inline(r):
    r.props["inlinePolicies"] = [{"name": "all", "policy": json.dumps({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})}]


def apply_special(rule: str, name: str, what: str, resources: list) -> list:
    """Variants that change more than the named resource."""
    by_name = {r.name: r for r in resources}
    if rule == "edge-carve-out-wired":
        dist = by_name["cdn"]
        dist.dependencies = [d for d in dist.dependencies if d != by_name["edge-waf"].urn]
    elif rule == "s3-cmk-encryption" and what == "bucket without encryption config":
        by_name["exports-sse"].dependencies = []
    elif rule == "restricted-table-zone-key" and name == "appx-restricted-de":
        resources.remove(by_name["field-key-de"])
    elif rule == "edge-function-logs-where-it-runs":
        geo = by_name["cdn"].props["restrictions"]["geoRestriction"]
        edge_log = by_name[f"edge-logs-{RESIDENCY.edge_regions[-1]}"]
        if what.startswith("GB whitelisted"):
            geo["locations"].append("GB")
        elif what == "edge region without its log group":
            resources.remove(edge_log)
        elif what == "edge log group without a CMK":
            edge_log.props.pop("kmsKeyId")
        elif what == "distribution without a geo whitelist":
            by_name["cdn"].props["restrictions"] = {"geoRestriction": {"restrictionType": "none"}}
    return resources
