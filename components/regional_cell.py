"""A regional cell: everything one EU region runs for Application X.

One `RegionalCell` per cell stack. For every residency zone that lists its region it holds the
zone's restricted table (or its replica), its own copy of the zone's subject-key store, the
field-encryption key and subject-key wrapping key (or their replicas); it also holds
replicas of the EU-wide tables, its own feed projection, the deferred-write queue, the three
functions, the HTTP API and the alarms. Owners of shared tables and keys are other cells,
whose outputs arrive through `owners` (StackReferences built by the program).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.cell_alarms import CellAlarms, CellAlarmsArgs
from components.cell_api import CellApi, CellApiArgs
from components.arns import Arns, aliased
from components.cell_function import CellFunction, CellFunctionArgs, EventSource, Grant, Schedule
from components.config import STREAM_MAX_RETRY_ATTEMPTS, CellConfig
from components.data_key import ALIAS as DATA_KEY_ALIAS, DataKeyArgs, RegionalDataKey
from components.deferred_write_queue import DeferredWriteQueue, DeferredWriteQueueArgs
from components.erasure_windows import RETRY_SECONDS, SETTLE_SECONDS, SWEEP_MINUTES, erasure_windows
from components.global_table import GlobalTable, GlobalTableArgs
from components.hosted_zone import HOSTED_ZONE_OUTPUT, hosted_zone_id
from components.residency import ResidencyZone
from components.stream_failure_queue import StreamFailureQueue, StreamFailureQueueArgs
from components.tables import FEED, IDEMPOTENCY, POSTS, Placement, placements, restricted_placement, subject_keys_table
from components.zone_key import FIELD_ENCRYPTION, SUBJECT_KEY_WRAPPING, SUBJECT_REFERENCE, ZoneKey, ZoneKeyArgs, ZoneKeyKind

# What a stream mapping needs to read its stream (Lambda Developer Guide, DynamoDB execution role).
STREAM_READ = ("dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:ListStreams")
# What an SQS mapping needs to poll its queue (AWSLambdaSQSQueueExecutionRole).
QUEUE_POLL = ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes")
# The table calls each handler makes (functions/*/handler.py through appx_common.store,
# appx_common.idempotency and appx_common.erasure); tests/infra/test_least_privilege.py pins them and
# tests/functions/test_calls_within_grants.py records them, so a new call needs its grant here.
# Profile writes are transactions whose condition checks read the subject's tombstone.
PROFILE_WRITES = ("dynamodb:ConditionCheckItem", "dynamodb:Query", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem")
PROFILE_STORE = ("dynamodb:GetItem", *PROFILE_WRITES)
IDEMPOTENCY_RECORDS = ("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem")
# Posts are read by key, listed by author through the byAuthor index, written by key.
POST_BY_KEY = ("dynamodb:GetItem", "dynamodb:PutItem")
QUERY = ("dynamodb:Query",)
# The stream keeps the feed: it projects posts and marks erased authors' posts.
STREAM_POSTS = ("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem")
FEED_PROJECTION = ("dynamodb:PutItem", "dynamodb:DeleteItem")
FEED_READ = ("dynamodb:GetItem", "dynamodb:Query")
# An erasure job (appx_common.erasure), run from the restricted stream and retried by the worker's
# scheduled sweeper: it records its progress, re-shreds the subject key, deletes the subject's
# idempotency records (bySubject), posts (the author's partition and byAuthor) and feed entries.
ERASURE_JOB_RECORD = ("dynamodb:Query", "dynamodb:UpdateItem", "dynamodb:DeleteItem")
# Subject keys: read (and repaired) by GetItem/PutItem; shredding overwrites every copy with a marker.
KEY_STORE = ("dynamodb:GetItem", "dynamodb:PutItem")
ERASURE_POSTS = ("dynamodb:Query", "dynamodb:DeleteItem")
ERASURE_FEED = ("dynamodb:BatchWriteItem", "dynamodb:DeleteItem")


@dataclass
class RegionalCellArgs:
    config: CellConfig
    account_id: pulumi.Input[str]
    # region -> StackReference of the cell that owns a table or key this cell replicates
    owners: Mapping[str, pulumi.StackReference]
    origin_secret: pulumi.Output[str] | None = None  # see GlobalEdgeArgs.origin_secret


class RegionalCell(pulumi.ComponentResource):
    outputs: dict

    def __init__(self, name: str, args: RegionalCellArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("appx:cell:RegionalCell", name, None, opts)
        config, settings = args.config, args.config.settings
        project, region = config.project, config.region
        child = pulumi.ResourceOptions(parent=self)

        data_key = RegionalDataKey(f"{name}-data", DataKeyArgs(region, args.account_id), child)
        # IAM documents and redrive policies name resources by ARNs built from their names, and keys by
        # their aliases, so they are known at a first preview (components/arns.py).
        arns = Arns(region, args.account_id)

        def owned(owner_region: str, *path: str) -> pulumi.Output | None:
            """None when this cell owns the thing; else the owner cell's exported ARN."""
            if owner_region == region:
                return None
            return args.owners[owner_region].require_output(path[0]).apply(lambda value: _dig(value, path[1:]))

        replication: list[tuple[str, str]] = []  # (table, receiving region) for the replication alarms

        def table(placement: Placement, *export_path: str) -> GlobalTable:
            owner = owned(placement.owner, *export_path)
            replication.extend((placement.spec.name, other) for other in placement.regions if other != region)
            return GlobalTable(
                f"{name}-{placement.spec.name}",
                GlobalTableArgs(placement.spec, data_key.arn, settings.pitr_recovery_period_days, owner,
                                replicated=len(placement.regions) > 1),
                child,
            )

        def zone_key(zone: ResidencyZone, short: str, kind: ZoneKeyKind, export: str) -> ZoneKey:
            """The zone's key of this kind: the primary in its home cell, a replica elsewhere."""
            primary = owned(zone.home_region, "zones", zone.name, export)
            return ZoneKey(f"{name}-{short}-{zone.name}", ZoneKeyArgs(kind, zone, primary), child)

        zones: dict[str, dict] = {}
        restricted: list[GlobalTable] = []
        key_store_arns: list[pulumi.Output[str]] = []
        for zone in config.zones:
            store = table(restricted_placement(zone), "zones", zone.name, "tableArn")
            # This region's copy of the zone's key store: a plain table, no stream, no replicas
            # (components/tables.py); the functions copy keys to the zone's other regions.
            key_store = GlobalTable(f"{name}-{subject_keys_table(zone).name}",
                                    GlobalTableArgs(subject_keys_table(zone), data_key.arn, settings.pitr_recovery_period_days), child)
            key_store_arns.extend(Arns(r, args.account_id).table(key_store.name) for r in zone.regions)
            key = zone_key(zone, "field-key", FIELD_ENCRYPTION, "fieldKeyArn")
            wrapping = zone_key(zone, "subject-key-wrapping", SUBJECT_KEY_WRAPPING, "wrapKeyArn")
            subject_key = zone_key(zone, "subject-key", SUBJECT_REFERENCE, "macKeyArn")
            restricted.append(store)
            zones[zone.name] = {"table": store.name, "tableArn": store.arn, "keysTable": key_store.name, "keysTableArn": key_store.arn,
                                "fieldKeyArn": key.arn, "fieldKeyId": key.key_id, "wrapKeyArn": wrapping.arn, "macKeyArn": subject_key.arn}
            if key.public_key_pem is not None:
                zones[zone.name]["publicKeyPem"] = key.public_key_pem

        eu_wide = {p.spec.name: p for p in placements(project)}
        eu_home = eu_wide[POSTS.name].owner
        posts = table(eu_wide[POSTS.name], "euTables", "postsArn")
        idempotency = table(eu_wide[IDEMPOTENCY.name], "euTables", "idempotencyArn")
        feed = GlobalTable(f"{name}-{FEED.name}", GlobalTableArgs(FEED, data_key.arn, settings.pitr_recovery_period_days), child)

        # Every alarm of the cell notifies this topic; operators subscribe to it after deploying.
        alarm_topic = aws.sns.Topic(
            f"{name}-alarms", name="appx-alarms", kms_master_key_id=data_key.arn,
            tags={"app": "appx", "data-class": "public"}, opts=child,
        )
        stream_failures = StreamFailureQueue(f"{name}-stream-failures", StreamFailureQueueArgs(data_key.arn, [alarm_topic.arn]), child)
        queue = DeferredWriteQueue(
            f"{name}-deferred-writes",
            DeferredWriteQueueArgs(
                data_key.arn, settings.queue_message_retention_seconds, settings.max_receive_count, arns, [alarm_topic.arn]
            ),
            child,
        )

        environment = {
            "APPX_REGION": region,
            "APPX_ZONES": pulumi.Output.all(
                **{z: pulumi.Output.all(table=v["table"], keysTable=v["keysTable"], keyArn=v["fieldKeyArn"], wrapKeyArn=v["wrapKeyArn"],
                                        macKeyArn=v["macKeyArn"], keyStoreRegions=list(project.residency.zones[z].regions))
                  for z, v in zones.items()}
            ).apply(json.dumps),
            "APPX_POSTS_TABLE": POSTS.name,
            "APPX_FEED_TABLE": FEED.name,
            "APPX_IDEMPOTENCY_TABLE": IDEMPOTENCY.name,
            "APPX_QUEUE_URL": queue.url,
            "APPX_KEY_PROVIDER": "kms",
            "APPX_TOMBSTONE_SECONDS": str(erasure_windows(project).tombstone_seconds),
            "APPX_ERASURE_SETTLE_SECONDS": str(SETTLE_SECONDS),
            "APPX_ERASURE_RETRY_SECONDS": str(RETRY_SECONDS),
        }
        if args.origin_secret is not None:
            environment["APPX_ORIGIN_SECRET"] = args.origin_secret
        if settings.cors_origins:
            environment["APPX_CORS_ORIGINS"] = ",".join(settings.cors_origins)
        restricted_arns = tuple(arns.table(t.name) for t in restricted)
        posts_arn, feed_arn, idempotency_arn = (arns.table(t.name) for t in (posts, feed, idempotency))
        keys = (arns.keys(),)  # narrowed to one key by an alias condition
        field_key_aliases = [FIELD_ENCRYPTION.alias(zone.name) for zone in config.zones]
        wrapping_aliases = [SUBJECT_KEY_WRAPPING.alias(zone.name) for zone in config.zones]
        # Subject keys are wrapped and unwrapped only with the context the functions use (docs/token-format.md).
        subject_key_context = {"StringEquals": {"kms:EncryptionContext:appx:purpose": "subject-key"}}
        # Derives the subject-reference HMAC key (tombstones, erasure jobs); every regional function needs it.
        subject_ref_grant = Grant(("kms:GenerateMac",), keys, aliased([SUBJECT_REFERENCE.alias(zone.name) for zone in config.zones],
                                                                      {"StringEquals": {"kms:MacAlgorithm": "HMAC_SHA_256"}}))

        def function(short: str, grants: list[Grant], concurrency: int, sources: list[EventSource] = (), schedules: list[Schedule] = ()) -> CellFunction:
            return CellFunction(
                f"{name}-{short}",
                CellFunctionArgs(
                    function=short,
                    data_key_arn=data_key.arn,
                    arns=arns,
                    environment={**environment, "POWERTOOLS_SERVICE_NAME": f"appx-{short}"},
                    grants=grants,
                    reserved_concurrency=concurrency,
                    log_retention_days=settings.log_retention_days,
                    event_sources=list(sources),
                    schedules=list(schedules),
                ),
                child,
            )

        posts_by_author = (arns.table(posts.name, "/index/byAuthor"),)
        idempotency_by_subject = (arns.table(idempotency.name, "/index/bySubject"),)
        erasure_job = [
            Grant(ERASURE_JOB_RECORD, restricted_arns),
            Grant(KEY_STORE, tuple(key_store_arns)),
            Grant(QUERY, idempotency_by_subject + posts_by_author),
            Grant(("dynamodb:DeleteItem",), (idempotency_arn,)),
            Grant(ERASURE_POSTS, (posts_arn,)),
            Grant(ERASURE_FEED, (feed_arn,)),
            subject_ref_grant,
        ]
        concurrency = settings.reserved_concurrency
        api = function("api", [
            Grant(PROFILE_STORE, restricted_arns),
            Grant(POST_BY_KEY, (posts_arn,)),
            Grant(QUERY, posts_by_author),
            Grant(FEED_READ, (feed_arn,)),
            Grant(IDEMPOTENCY_RECORDS, (idempotency_arn,)),
            subject_ref_grant,
            # Producer of a queue under the cell's CMK.
            Grant(("kms:GenerateDataKey",), keys, aliased([DATA_KEY_ALIAS])),
            Grant(("sqs:SendMessage",), (arns.queue(queue.name),)),
            # Only the decryption the envelope format uses; DescribeKey backs the deep /health.
            Grant(("kms:Decrypt",), keys,
                  aliased(field_key_aliases, {"StringEquals": {"kms:EncryptionAlgorithm": "RSAES_OAEP_SHA_256"}})),
            Grant(("kms:DescribeKey",), keys, aliased(field_key_aliases + wrapping_aliases)),
            # Create a subject's key at sign-up (every region of the zone), read it on use, shred it.
            Grant(KEY_STORE, tuple(key_store_arns)),
            Grant(("kms:GenerateDataKey", "kms:Decrypt"), keys, aliased(wrapping_aliases, subject_key_context)),
        ], concurrency.api)
        worker = function("worker", [
            # Writes the API could not apply (queued) are the same profile and post writes.
            Grant(PROFILE_WRITES, restricted_arns),
            Grant(("dynamodb:PutItem",), (posts_arn,)),
            *erasure_job,
            # Open queued writes (sealed under the subject key).
            Grant(("kms:Decrypt",), keys, aliased(wrapping_aliases, subject_key_context)),
            # Consumer of a queue under the cell's CMK: kms:Decrypt is in every role already.
            Grant(QUEUE_POLL, (arns.queue(queue.name),)),
        ], concurrency.worker, [EventSource(queue.arn, batch_size=10, max_concurrency=settings.worker_max_concurrency)],
            [Schedule("erasure-sweep", f"rate({SWEEP_MINUTES} minutes)", {"appx": "erasure-sweep"})])
        stream_sources = [t.stream_arn for t in (posts, *restricted)]
        stream = function("stream", [
            Grant(STREAM_READ, tuple(arns.table(t.name, "/stream/*") for t in (posts, *restricted))),
            *erasure_job,
            Grant(STREAM_POSTS, (posts_arn,)),
            Grant(FEED_PROJECTION, (feed_arn,)),
        ], concurrency.stream, [
            # TRIM_HORIZON: a new cell's mapping starts at the oldest record its stream keeps (24 h),
            # so it misses nothing written since its replica appeared; `tools.backfill_feed` adds
            # the posts older than that. Replays are harmless: every step is idempotent.
            EventSource(arn, batch_size=100, starting_position="TRIM_HORIZON", max_retries=STREAM_MAX_RETRY_ATTEMPTS,
                        on_failure=stream_failures)
            for arn in stream_sources
        ])

        domain = project.settings.domain
        created_zone = None
        if project.settings.hosted_zone_id is None and region == project.dns_owner:
            created_zone = aws.route53.Zone(f"{name}-zone", name=domain, comment="Application X", tags={"app": "appx"}, opts=child)
            zone_id = created_zone.zone_id
            # Stack outputs are written only when all resolve, i.e. after the certificates validate,
            # which needs the delegation: print the name servers as soon as the zone exists.
            created_zone.name_servers.apply(lambda servers: pulumi.log.info(
                f"delegate {domain} to {' '.join(servers)} now; this update's certificates validate once it is", created_zone))
        else:
            zone_id = hosted_zone_id(project, args.owners)
        hosts = project.host_names(region)
        http_api = CellApi(
            f"{name}-api",
            CellApiArgs(api.function, hosts, zone_id, data_key.arn, settings.log_retention_days, settings.api_throttle,
                        validation_records_for=[h for h in hosts if project.validation_record_owner(h) == region]),
            child,
        )
        CellAlarms(
            f"{name}-alarms",
            CellAlarmsArgs(
                api_id=http_api.api_id,
                function_names={"api": api.function.name, "worker": worker.function.name, "stream": stream.function.name},
                replication_paths=replication,
                alarm_topic_arns=[alarm_topic.arn],
            ),
            child,
        )

        self.outputs = {
            "region": region,
            "apiEndpoint": http_api.endpoint,
            "executeApiHost": http_api.execute_api_host,
            "domainTargets": http_api.domain_targets,
            "zones": zones,
            "queueUrl": queue.url,
            "dataKeyArn": data_key.arn,
            "alarmTopicArn": alarm_topic.arn,
            "dlqUrl": queue.dlq_url,
            "streamFailureQueueUrl": stream_failures.url,
        }
        if created_zone is not None:
            # Delegate `domain` to these name servers while the first `pulumi up` validates certificates.
            self.outputs[HOSTED_ZONE_OUTPUT] = created_zone.zone_id
            self.outputs["nameServers"] = created_zone.name_servers
        if eu_home == region:
            self.outputs["euTables"] = {"postsArn": posts.arn, "idempotencyArn": idempotency.arn}
        self.register_outputs(self.outputs)


def _dig(value, path: tuple[str, ...]):
    for key in path:
        value = value[key]
    return value
