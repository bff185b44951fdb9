"""A synthetic, fully compliant stack touching every resource type the pack checks.

Each rule's tests start from this baseline (which must pass every rule) and apply one violating
change at a time. Resources look like what the mock harness registers: camelCase inputs, explicit
providers where the program uses them, URNs and dependencies.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

from components.residency import RESIDENCY_FILE, load_residency
from policy.analyzer import Provider, Resource

STACK, PROJECT = "test", "appx"
RESIDENCY = load_residency(Path(__file__).resolve().parents[2] / RESIDENCY_FILE)
ACCOUNT = "123456789012"


def urn(typ: str, name: str) -> str:
    return f"urn:pulumi:{STACK}::{PROJECT}::{typ}::{name}"


def provider(name: str, region: str) -> Provider:
    return Provider(urn("pulumi:providers:aws", name), "pulumi:providers:aws", name, {"region": region})


DEFAULT = provider("default_7_51_1", "eu-west-1")
EUC1 = provider("eu-central-1", "eu-central-1")
EUW3 = provider("eu-west-3", "eu-west-3")
USE1 = provider("us-east-1", "us-east-1")

ROOT_KEY_POLICY = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Sid": "Root", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "kms:*", "Resource": "*"},
    {"Sid": "Logs", "Effect": "Allow", "Principal": {"Service": "logs.eu-west-1.amazonaws.com"},
     "Action": ["kms:Encrypt*", "kms:Decrypt*", "kms:GenerateDataKey*"], "Resource": "*",
     "Condition": {"ArnLike": {"kms:EncryptionContext:aws:logs:arn": f"arn:aws:logs:eu-west-1:{ACCOUNT}:*"}}},
]})


def arn(service: str, region: str, what: str) -> str:
    return f"arn:aws:{service}:{region}:{ACCOUNT}:{what}"


def R(typ: str, name: str, props: dict, prov: Provider | None = DEFAULT, deps: list[str] | None = None) -> Resource:
    return Resource(urn(typ, name), typ, name, props, prov, None, list(deps or []))


T = {
    "key": "aws:kms/key:Key", "replica_key": "aws:kms/replicaKey:ReplicaKey", "table": "aws:dynamodb/table:Table",
    "table_replica": "aws:dynamodb/tableReplica:TableReplica", "queue": "aws:sqs/queue:Queue",
    "log": "aws:cloudwatch/logGroup:LogGroup", "fn": "aws:lambda/function:Function",
    "perm": "aws:lambda/permission:Permission", "url": "aws:lambda/functionUrl:FunctionUrl",
    "role": "aws:iam/role:Role", "role_policy": "aws:iam/rolePolicy:RolePolicy",
    "domain": "aws:apigatewayv2/domainName:DomainName", "stage": "aws:apigatewayv2/stage:Stage",
    "topic": "aws:sns/topic:Topic", "bucket": "aws:s3/bucket:Bucket",
    "sse": "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    "dist": "aws:cloudfront/distribution:Distribution", "cert": "aws:acm/certificate:Certificate",
    "waf": "aws:wafv2/webAcl:WebAcl", "hc": "aws:route53/healthCheck:HealthCheck", "record": "aws:route53/record:Record",
    "key_policy": "aws:kms/keyPolicy:KeyPolicy", "mapping": "aws:lambda/eventSourceMapping:EventSourceMapping",
}

CMK = arn("kms", "eu-west-1", "key/data")


def replica(region: str) -> dict:
    return {"regionName": region, "kmsKeyArn": arn("kms", region, "key/data"), "pointInTimeRecovery": True,
            "deletionProtectionEnabled": True}


def table_props(cls: str, replicas: list[str], zone: str | None = None) -> dict:
    tags = {"data-class": cls}
    if zone:
        tags["residency-zone"] = zone
    return {"billingMode": "PAY_PER_REQUEST", "hashKey": "pk", "rangeKey": "sk",
            "serverSideEncryption": {"enabled": True, "kmsKeyArn": CMK},
            "pointInTimeRecovery": {"enabled": True, "recoveryPeriodInDays": 7},
            "deletionProtectionEnabled": True, "replicas": [replica(r) for r in replicas], "tags": tags}


def baseline() -> list[Resource]:
    field_tags = {"purpose": "field-encryption", "residency-zone": "eu"}
    de_tags = {"purpose": "field-encryption", "residency-zone": "de"}
    data_key = R(T["key"], "data-key", {"description": "data", "enableKeyRotation": True, "policy": ROOT_KEY_POLICY,
                                         "deletionWindowInDays": 30})
    field_key = R(T["key"], "field-key-eu", {"multiRegion": True, "keySpec": "RSA_3072", "keyUsage": "ENCRYPT_DECRYPT",
                                              "policy": ROOT_KEY_POLICY, "tags": dict(field_tags)})
    field_replica = R(T["replica_key"], "field-key-eu-eu-west-3", {"primaryKeyArn": arn("kms", "eu-west-1", "key/mrk-1"),
                                                                   "policy": ROOT_KEY_POLICY, "tags": dict(field_tags)},
                      EUW3, [field_key.urn])
    de_key = R(T["key"], "field-key-de", {"multiRegion": True, "keySpec": "RSA_3072", "keyUsage": "ENCRYPT_DECRYPT",
                                           "policy": ROOT_KEY_POLICY, "tags": de_tags}, EUC1)
    wrap_key = R(T["key"], "subject-key-wrapping-eu", {"multiRegion": True, "keyUsage": "ENCRYPT_DECRYPT", "enableKeyRotation": True,
                                                        "policy": ROOT_KEY_POLICY,
                                                        "tags": {"purpose": "subject-key-wrapping", "residency-zone": "eu"}})
    restricted = R(T["table"], "appx-restricted-eu", table_props("restricted", ["eu-central-1"], "eu"), deps=[data_key.urn])
    restricted_de = R(T["table"], "appx-restricted-de", table_props("restricted", [], "de"), EUC1)
    table_replica = R(T["table_replica"], "appx-restricted-eu-eu-west-3", {
        "globalTableArn": arn("dynamodb", "eu-west-1", "table/appx-restricted-eu"), "kmsKeyArn": arn("kms", "eu-west-3", "key/data"),
        "pointInTimeRecovery": True, "deletionProtectionEnabled": True,
        "tags": {"data-class": "restricted", "residency-zone": "eu"}}, EUW3, [restricted.urn])
    # The zone's key store: recognised by its name (components/tables.py); a plain table in each
    # region of the zone (no stream, no replicas, PITR off), copied by the functions.
    key_store = R(T["table"], "appx-subject-keys-eu", {
        **table_props("key-material", [], "eu"), "name": "appx-subject-keys-eu", "pointInTimeRecovery": {"enabled": False}},
        deps=[data_key.urn])
    key_store_copy = R(T["table"], "appx-subject-keys-eu-eu-west-3", {
        **table_props("key-material", [], "eu"), "name": "appx-subject-keys-eu", "pointInTimeRecovery": {"enabled": False},
        "serverSideEncryption": {"enabled": True, "kmsKeyArn": arn("kms", "eu-west-3", "key/data")}}, EUW3)
    posts = R(T["table"], "appx-posts", table_props("personal", ["eu-central-1", "eu-west-3"]))
    feed = R(T["table"], "appx-feed", table_props("public", ["eu-central-1"]))
    dlq = R(T["queue"], "appx-deferred-dlq", {"name": "appx-deferred-dlq", "kmsMasterKeyId": CMK,
                                             "messageRetentionSeconds": 1209600, "tags": {"data-class": "personal"},
                                             "redriveAllowPolicy": json.dumps({"redrivePermission": "allowAll"})})
    queue = R(T["queue"], "appx-deferred", {
        "name": "appx-deferred", "kmsMasterKeyId": CMK, "messageRetentionSeconds": 345600, "tags": {"data-class": "personal"},
        "redrivePolicy": json.dumps({"deadLetterTargetArn": arn("sqs", "eu-west-1", "appx-deferred-dlq"), "maxReceiveCount": 5})},
        deps=[dlq.urn])
    # A stream mapping's on-failure destination: a dead-letter queue without a redrive policy of its own.
    failures = R(T["queue"], "appx-stream-failures", {"name": "appx-stream-failures", "kmsMasterKeyId": CMK,
                                                      "messageRetentionSeconds": 1209600, "tags": {"data-class": "public"}})
    mapping = R(T["mapping"], "stream-posts", {
        "eventSourceArn": arn("dynamodb", "eu-west-1", "table/appx-posts/stream/2026"), "startingPosition": "TRIM_HORIZON",
        "bisectBatchOnFunctionError": True,
        "destinationConfig": {"onFailure": {"destinationArn": arn("sqs", "eu-west-1", "appx-stream-failures")}}},
        deps=[failures.urn])
    log = R(T["log"], "api-logs", {"name": "/aws/lambda/appx-api", "retentionInDays": 30, "kmsKeyId": CMK,
                                   "tags": {"data-class": "personal"}})
    fn = R(T["fn"], "api", {"name": "appx-api", "runtime": "python3.13", "architectures": ["arm64"], "kmsKeyArn": CMK,
                            "environment": {"variables": {"APPX_REGION": "eu-west-1", "APPX_TOMBSTONE_SECONDS": "3110400"}}, "reservedConcurrentExecutions": 360})
    worker_fn = R(T["fn"], "worker", {"name": "appx-worker", "runtime": "python3.13", "architectures": ["arm64"], "kmsKeyArn": CMK,
                                      "reservedConcurrentExecutions": 240})
    stream_fn = R(T["fn"], "stream", {"name": "appx-stream", "runtime": "python3.13", "architectures": ["arm64"], "kmsKeyArn": CMK,
                                      "reservedConcurrentExecutions": 5})
    worker_source = R(T["mapping"], "worker-source", {"eventSourceArn": arn("sqs", "eu-west-1", "appx-deferred"),
                                                      "scalingConfig": {"maximumConcurrency": 240}}, deps=[worker_fn.urn, queue.urn])
    perm = R(T["perm"], "api-invoke", {"action": "lambda:InvokeFunction", "principal": "apigateway.amazonaws.com",
                                       "sourceArn": arn("execute-api", "eu-west-1", "abc/*/*")})
    url = R(T["url"], "api-url", {"authorizationType": "AWS_IAM"})
    role = R(T["role"], "api-role", {"assumeRolePolicy": json.dumps({"Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}),
                                     "inlinePolicies": [{"name": "data", "policy": json.dumps({"Version": "2012-10-17", "Statement": [
                                         {"Effect": "Allow", "Action": ["dynamodb:GetItem", "dynamodb:PutItem"], "Resource": [arn("dynamodb", "eu-west-1", "table/appx-posts")]},
                                         {"Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"], "Resource": "*"}]})}]})
    role_policy = R(T["role_policy"], "api-kms", {"role": "api-role", "policy": json.dumps({"Statement": [
        {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": CMK}]})})
    domain = R(T["domain"], "api-domain", {"domainName": "eu-west-1.origin.appx.example.eu", "domainNameConfiguration": {
        "certificateArn": arn("acm", "eu-west-1", "certificate/x"), "endpointType": "REGIONAL", "securityPolicy": "TLS_1_2"}})
    stage = R(T["stage"], "api-stage", {"name": "$default", "defaultRouteSettings": {"throttlingRateLimit": 6000, "throttlingBurstLimit": 3000}, "accessLogSettings": {
        "destinationArn": arn("logs", "eu-west-1", "log-group:/appx/api-access"), "format": '{"requestId":"$context.requestId"}'}})
    topic = R(T["topic"], "alarms", {"kmsMasterKeyId": CMK, "tags": {"data-class": "public"}})
    bucket = R(T["bucket"], "exports", {"tags": {"data-class": "personal"}})
    sse = R(T["sse"], "exports-sse", {"bucket": "exports", "rules": [{"applyServerSideEncryptionByDefault": {
        "sseAlgorithm": "aws:kms", "kmsMasterKeyId": CMK}}]}, deps=[bucket.urn])
    # Edge, through the us-east-1 provider (the global stack).
    cert = R(T["cert"], "app-cert", {"domainName": "app.appx.example.eu", "validationMethod": "DNS"}, USE1)
    waf = R(T["waf"], "edge-waf", {"scope": "CLOUDFRONT", "defaultAction": {"allow": {}}}, USE1)
    edge_fn = R(T["fn"], "edge", {"name": "appx-edge", "runtime": "python3.13", "publish": True, "architectures": ["x86_64"]}, USE1)
    edge_key = R(T["key"], "edge-logs-key", {"enableKeyRotation": True, "policy": ROOT_KEY_POLICY,
                                             "tags": {"purpose": "edge-logs"}}, USE1)
    edge_log = R(T["log"], "edge-logs", {"name": "/aws/lambda/us-east-1.appx-edge", "retentionInDays": 30,
                                         "kmsKeyId": arn("kms", "us-east-1", "key/edge"), "tags": {"data-class": "personal"}},
                 USE1, [edge_key.urn, edge_fn.urn])
    dist = R(T["dist"], "cdn", {
        "enabled": True, "webAclId": arn("wafv2", "us-east-1", "global/webacl/edge"),
        "viewerCertificate": {"acmCertificateArn": arn("acm", "us-east-1", "certificate/app"), "sslSupportMethod": "sni-only",
                              "minimumProtocolVersion": "TLSv1.2_2021"},
        "defaultCacheBehavior": {"viewerProtocolPolicy": "redirect-to-https", "targetOriginId": "public"},
        "orderedCacheBehaviors": [{"pathPattern": "/api/*", "viewerProtocolPolicy": "https-only", "targetOriginId": "eu"}],
        "origins": [{"originId": "eu", "domainName": "eu.origin.appx.example.eu", "customOriginConfig": {
            "originProtocolPolicy": "https-only", "originSslProtocols": ["TLSv1.2"], "httpPort": 80, "httpsPort": 443}}],
        "restrictions": {"geoRestriction": {"restrictionType": "whitelist", "locations": sorted(RESIDENCY.countries)}},
    }, deps=[cert.urn, waf.urn, edge_fn.urn])
    # Where the edge function may run (residency.yaml edgeRegions): its log group, pre-created.
    edge_region_logs = [
        R(T["log"], f"edge-logs-{region}", {"name": "/aws/lambda/us-east-1.appx-edge", "retentionInDays": 30,
                                            "kmsKeyId": arn("kms", region, "key/edge-logs"), "tags": {"data-class": "personal"}},
          provider(region, region))
        for region in RESIDENCY.edge_regions
    ]
    hc = R(T["hc"], "hc-eu-west-1", {"type": "HTTPS", "fqdn": "eu-west-1.origin.appx.example.eu", "resourcePath": "/health",
                                     "requestInterval": 10, "failureThreshold": 3})
    record = R(T["record"], "eu-origin-eu-west-1", {"name": "eu.origin.appx.example.eu", "type": "A", "setIdentifier": "eu-west-1",
                                                    "latencyRoutingPolicies": [{"region": "eu-west-1"}], "healthCheckId": "hc-1"},
               deps=[hc.urn])
    return [data_key, field_key, field_replica, de_key, wrap_key, restricted, restricted_de, table_replica, key_store, key_store_copy,
            posts, feed, dlq, queue, failures, mapping, log, fn, worker_fn, stream_fn, worker_source, perm, url, role, role_policy,
            domain, stage, topic, bucket, sse, cert, waf, edge_fn, edge_key, edge_log, dist, hc, record, *edge_region_logs]


def mutate(resources: list[Resource], name: str, change) -> list[Resource]:
    """A deep copy of `resources` where `change(resource)` has been applied to the one named `name`."""
    out = copy.deepcopy(resources)
    matches = [r for r in out if r.name == name]
    assert len(matches) == 1, f"no single resource named {name!r}"
    change(matches[0])
    return out
