"""A regional cell: everything one EU region runs for Application X.

One `RegionalCell` per cell stack. For every residency zone that lists its region it holds the
zone's restricted table, subject-key store, field-encryption key and subject-key wrapping key
(or their replicas); it also holds
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
from components.cell_function import CellFunction, CellFunctionArgs, EventSource, Grant, Schedule
from components.config import CellConfig
from components.data_key import DataKeyArgs, RegionalDataKey
from components.deferred_write_queue import DeferredWriteQueue, DeferredWriteQueueArgs
from components.erasure_windows import RETRY_SECONDS, SETTLE_SECONDS, SWEEP_MINUTES, erasure_windows
from components.field_key import FieldKeyArgs, ZoneFieldKey
from components.global_table import GlobalTable, GlobalTableArgs
from components.hosted_zone import HOSTED_ZONE_OUTPUT, hosted_zone_id
from components.subject_key import SubjectKeyArgs, ZoneSubjectKey
from components.subject_key_wrapping import SubjectKeyWrappingArgs, ZoneSubjectKeyWrapping
from components.tables import FEED, IDEMPOTENCY, POSTS, TableSpec, restricted_table, subject_keys_table

READ = ("dynamodb:GetItem", "dynamodb:Query", "dynamodb:BatchGetItem")
WRITE = ("dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem", "dynamodb:ConditionCheckItem")
STREAM_READ = ("dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:ListStreams")


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

        def owned(owner_region: str, *path: str) -> pulumi.Output | None:
            """None when this cell owns the thing; else the owner cell's exported ARN."""
            if owner_region == region:
                return None
            return args.owners[owner_region].require_output(path[0]).apply(lambda value: _dig(value, path[1:]))

        def table(spec: TableSpec, owner_region: str, regions: tuple[str, ...], *export_path: str) -> GlobalTable:
            owner = owned(owner_region, *export_path)
            return GlobalTable(
                f"{name}-{spec.name}",
                GlobalTableArgs(spec, data_key.arn, settings.pitr_recovery_period_days, owner, replicated=len(regions) > 1),
                child,
            )

        zones: dict[str, dict] = {}
        restricted: list[GlobalTable] = []
        key_stores: list[GlobalTable] = []
        field_keys: list[ZoneFieldKey] = []
        subject_keys: list[ZoneSubjectKey] = []
        wrapping_keys: list[ZoneSubjectKeyWrapping] = []
        replication: list[tuple[str, str]] = []
        for zone in config.zones:
            spec, keys_spec = restricted_table(zone), subject_keys_table(zone)
            store = table(spec, zone.home_region, zone.regions, "zones", zone.name, "tableArn")
            key_store = table(keys_spec, zone.home_region, zone.regions, "zones", zone.name, "keysTableArn")
            primary = owned(zone.home_region, "zones", zone.name, "fieldKeyArn")
            key = ZoneFieldKey(f"{name}-field-key-{zone.name}", FieldKeyArgs(zone, primary), child)
            subject_key = ZoneSubjectKey(
                f"{name}-subject-key-{zone.name}", SubjectKeyArgs(zone, owned(zone.home_region, "zones", zone.name, "macKeyArn")), child
            )
            wrapping = ZoneSubjectKeyWrapping(
                f"{name}-subject-key-wrapping-{zone.name}",
                SubjectKeyWrappingArgs(zone, owned(zone.home_region, "zones", zone.name, "wrapKeyArn")), child,
            )
            restricted.append(store)
            key_stores.append(key_store)
            field_keys.append(key)
            subject_keys.append(subject_key)
            wrapping_keys.append(wrapping)
            replication += [(t.name, other) for t in (spec, keys_spec) for other in zone.regions if other != region]
            zones[zone.name] = {"table": store.name, "tableArn": store.arn, "keysTable": key_store.name, "keysTableArn": key_store.arn,
                                "fieldKeyArn": key.arn, "fieldKeyId": key.key_id, "wrapKeyArn": wrapping.arn, "macKeyArn": subject_key.arn}
            if key.public_key_pem is not None:
                zones[zone.name]["publicKeyPem"] = key.public_key_pem

        all_cells = tuple(project.cell_regions)
        eu_home = project.eu_tables_home
        posts = table(POSTS, eu_home, all_cells, "euTables", "postsArn")
        idempotency = table(IDEMPOTENCY, eu_home, all_cells, "euTables", "idempotencyArn")
        feed = GlobalTable(f"{name}-{FEED.name}", GlobalTableArgs(FEED, data_key.arn, settings.pitr_recovery_period_days), child)
        replication += [(t.name, other) for t in (POSTS, IDEMPOTENCY) for other in all_cells if other != region]

        # Every alarm of the cell notifies this topic; operators subscribe to it after deploying.
        alarm_topic = aws.sns.Topic(
            f"{name}-alarms", name="appx-alarms", kms_master_key_id=data_key.arn,
            tags={"app": "appx", "data-class": "public"}, opts=child,
        )
        queue = DeferredWriteQueue(
            f"{name}-deferred-writes",
            DeferredWriteQueueArgs(
                data_key.arn, settings.queue_message_retention_seconds, settings.max_receive_count, [alarm_topic.arn]
            ),
            child,
        )

        environment = {
            "APPX_REGION": region,
            "APPX_ZONES": pulumi.Output.all(
                **{z: pulumi.Output.all(table=v["table"], keysTable=v["keysTable"], keyArn=v["fieldKeyArn"], wrapKeyArn=v["wrapKeyArn"],
                                        macKeyArn=v["macKeyArn"])
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
        restricted_arns = tuple(t.arn for t in restricted)
        posts_arns = (posts.arn, posts.arn.apply(lambda a: f"{a}/index/*"))
        idempotency_arns = (idempotency.arn, idempotency.arn.apply(lambda a: f"{a}/index/*"))
        field_key_arns = tuple(k.arn for k in field_keys)
        # Derives the subject-reference HMAC key (tombstones); every regional function needs it.
        subject_key_grant = Grant(("kms:GenerateMac",), tuple(k.arn for k in subject_keys), {"StringEquals": {"kms:MacAlgorithm": "HMAC_SHA_256"}})
        key_store_arns = tuple(t.arn for t in key_stores)
        wrapping_key_arns = tuple(k.arn for k in wrapping_keys)
        # Subject keys: only with the context the functions use (docs/token-format.md).
        subject_key_context = {"StringEquals": {"kms:EncryptionContext:appx:purpose": "subject-key"}}

        def function(short: str, grants: list[Grant], concurrency: int, sources: list[EventSource] = (), schedules: list[Schedule] = ()) -> CellFunction:
            return CellFunction(
                f"{name}-{short}",
                CellFunctionArgs(
                    function=short,
                    data_key_arn=data_key.arn,
                    environment={**environment, "POWERTOOLS_SERVICE_NAME": f"appx-{short}"},
                    grants=grants,
                    reserved_concurrency=concurrency,
                    log_retention_days=settings.log_retention_days,
                    event_sources=list(sources),
                    schedules=list(schedules),
                ),
                child,
            )

        write_grants = [
            Grant(READ + WRITE, restricted_arns + posts_arns + idempotency_arns + (feed.arn,)),
            subject_key_grant,
            # SQS with a CMK: producers need GenerateDataKey, consumers Decrypt.
            Grant(("kms:GenerateDataKey", "kms:Decrypt"), (data_key.arn,)),
        ]
        concurrency = settings.reserved_concurrency
        api = function("api", [
            *write_grants,
            # Only the decryption the envelope format uses; DescribeKey backs the deep /health.
            Grant(("kms:Decrypt",), field_key_arns, {"StringEquals": {"kms:EncryptionAlgorithm": "RSAES_OAEP_SHA_256"}}),
            Grant(("kms:DescribeKey",), field_key_arns + wrapping_key_arns),
            # Create a subject's key at sign-up, read it on use, delete it to erase (shred).
            Grant(("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem"), key_store_arns),
            Grant(("kms:GenerateDataKey", "kms:Decrypt"), wrapping_key_arns, subject_key_context),
            Grant(("sqs:SendMessage", "sqs:GetQueueAttributes"), (queue.arn,)),
        ], concurrency.api)
        worker = function("worker", [
            *write_grants,
            # Open queued writes (sealed under the subject key); a queued erasure shreds the key.
            Grant(("dynamodb:GetItem", "dynamodb:DeleteItem"), key_store_arns),
            Grant(("kms:Decrypt",), wrapping_key_arns, subject_key_context),
            Grant(("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes"), (queue.arn,)),
        ], concurrency.worker, [EventSource(queue.arn, batch_size=10)],
            [Schedule("erasure-sweep", f"rate({SWEEP_MINUTES} minutes)", {"appx": "erasure-sweep"})])
        stream_sources = [t.stream_arn for t in (posts, *restricted)]
        stream = function("stream", [
            Grant(STREAM_READ, tuple(stream_sources)),
            Grant(READ + WRITE, restricted_arns + posts_arns + idempotency_arns + (feed.arn,)),
            subject_key_grant,
            # The erasure job it runs shreds the subject key again and verifies it gone.
            Grant(("dynamodb:GetItem", "dynamodb:DeleteItem"), key_store_arns),
        ], concurrency.stream, [EventSource(arn, batch_size=100, starting_position="LATEST", max_retries=5) for arn in stream_sources])

        domain = project.settings.domain
        created_zone = None
        if project.settings.hosted_zone_id is None and region == project.dns_owner:
            created_zone = aws.route53.Zone(f"{name}-zone", name=domain, comment="Application X", tags={"app": "appx"}, opts=child)
            zone_id = created_zone.zone_id
        else:
            zone_id = hosted_zone_id(project, args.owners)
        hosts = [project.settings.public_origin_host, *(z.origin_host(domain) for z in config.zones), f"{region}.cells.{domain}"]
        http_api = CellApi(
            f"{name}-api",
            CellApiArgs(api.function, hosts, zone_id, data_key.arn, settings.log_retention_days, settings.api_throttle),
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
