"""Regional cells under mocks: data stores, keys, queues, functions, API, IAM."""

from __future__ import annotations

import json

import pytest

from components.config import cell_config
from components.regions import EU_REGIONS

TABLE = "aws:dynamodb/table:Table"
REPLICA = "aws:dynamodb/tableReplica:TableReplica"
KEY = "aws:kms/key:Key"
REPLICA_KEY = "aws:kms/replicaKey:ReplicaKey"
QUEUE = "aws:sqs/queue:Queue"
FUNCTION = "aws:lambda/function:Function"
DATA_CLASSES = {"restricted", "personal", "public", "key-material"}


def settings(project, region):
    return cell_config(project, project.stacks[region]).settings


def test_every_cell_resource_lives_in_its_own_region(cell_runs):
    for region, run in cell_runs.items():
        aws_resources = [r for r in run.resources if r.type.startswith("aws:")]
        assert aws_resources
        for resource in aws_resources:
            assert run.region_of(resource) == region, (resource.name, run.region_of(resource))
            # Explicit provider everywhere: nothing lands on a hidden default provider.
            assert resource.provider is not None and resource.provider.props["region"] == region, resource.name


@pytest.mark.parametrize("zone_name", ["eu", "de"])
@pytest.mark.parametrize("prefix", ["appx-restricted", "appx-subject-keys"])
def test_restricted_table_and_key_store_replicas_are_exactly_the_zone_regions(project, cell_runs, zone_name, prefix):
    zone = project.residency.zones[zone_name]
    table_name = f"{prefix}-{zone_name}"
    placed = []
    for region, run in cell_runs.items():
        for table in run.of_type(TABLE):
            if table.props["name"] == table_name:
                assert not table.props.get("replicas"), "replicas are added by the other cells, not inline"
                placed.append(region)
        for replica in run.of_type(REPLICA):
            if replica.props["globalTableArn"].endswith(f":table/{table_name}"):
                assert replica.props["globalTableArn"].split(":")[3] == zone.home_region
                placed.append(region)
    assert sorted(placed) == sorted(zone.regions)  # never more, never fewer, never twice


def test_eu_wide_tables_are_replicated_to_every_cell_and_feed_is_regional(project, cell_runs):
    for name in ("appx-posts", "appx-idempotency"):
        placed = [region for region, run in cell_runs.items()
                  for r in run.of_type(TABLE) + run.of_type(REPLICA)
                  if r.props.get("name") == name or r.props.get("globalTableArn", "").endswith(f"/{name}")]
        assert sorted(placed) == sorted(project.cell_regions)
    for run in cell_runs.values():
        assert [t.props["name"] for t in run.of_type(TABLE)].count("appx-feed") == 1


@pytest.mark.parametrize(("zone_name", "purpose", "usage", "spec"), [
    ("eu", "field-encryption", "ENCRYPT_DECRYPT", "RSA_"), ("de", "field-encryption", "ENCRYPT_DECRYPT", "RSA_"),
    ("eu", "subject-reference", "GENERATE_VERIFY_MAC", "HMAC_256"), ("de", "subject-reference", "GENERATE_VERIFY_MAC", "HMAC_256"),
])
def test_zone_keys_are_multi_region_with_replicas_only_inside_the_zone(project, cell_runs, zone_name, purpose, usage, spec):
    zone = project.residency.zones[zone_name]

    def of_zone(k) -> bool:
        tags = k.props.get("tags", {})
        return tags.get("residency-zone") == zone_name and tags.get("purpose") == purpose

    primaries = [(region, k) for region, run in cell_runs.items() for k in run.of_type(KEY) if of_zone(k)]
    assert [region for region, _ in primaries] == [zone.home_region]
    key = primaries[0][1]
    assert key.props["multiRegion"] is True
    assert key.props["keyUsage"] == usage
    assert key.props["customerMasterKeySpec"].startswith(spec)
    replicas = [region for region, run in cell_runs.items() for k in run.of_type(REPLICA_KEY) if of_zone(k)]
    assert sorted(replicas) == sorted(zone.replica_regions)


@pytest.mark.parametrize("zone_name", ["eu", "de"])
def test_subject_key_wrapping_keys_are_symmetric_rotating_and_only_inside_the_zone(project, cell_runs, zone_name):
    zone = project.residency.zones[zone_name]

    def wrapping(run, typ):
        return [k for k in run.of_type(typ) if k.props.get("tags", {}) == {"app": "appx", "purpose": "subject-key-wrapping", "residency-zone": zone_name}]

    primaries = [(region, k) for region, run in cell_runs.items() for k in wrapping(run, KEY)]
    assert [region for region, _ in primaries] == [zone.home_region]
    key = primaries[0][1]
    assert key.props["multiRegion"] is True and key.props["enableKeyRotation"] is True
    assert key.props.get("customerMasterKeySpec") in (None, "SYMMETRIC_DEFAULT")
    assert sorted(region for region, run in cell_runs.items() for _ in wrapping(run, REPLICA_KEY)) == sorted(zone.replica_regions)


def test_erasure_sweeper_is_scheduled_and_its_job_age_alarmed(cell_runs):
    from components.erasure_windows import JOB_BOUND_SECONDS

    for region, run in cell_runs.items():
        rules = run.of_type("aws:cloudwatch/eventRule:EventRule")
        assert [r.props["scheduleExpression"] for r in rules] == ["rate(5 minutes)"], region
        alarms = [a.props for a in run.of_type("aws:cloudwatch/metricAlarm:MetricAlarm") if a.props.get("metricName") == "ErasureJobOldestAgeSeconds"]
        assert len(alarms) == 1 and alarms[0]["threshold"] == JOB_BOUND_SECONDS and alarms[0]["treatMissingData"] == "breaching"
        env = json.loads(next(f.props for f in run.of_type("aws:lambda/function:Function") if f.props["name"] == "appx-worker")
                         ["environment"]["variables"]["APPX_ZONES"])
        assert all(v["macKeyArn"] for v in env.values())


def test_key_stores_are_plain_tables_in_every_zone_region_without_streams_or_backups(project, cell_runs):
    """Every region of a zone has its own copy of the zone's key store: a plain table with no stream,
    no replicas and PITR off (a stream or a backup would keep a shredded key). The functions copy
    keys between the zone's regions themselves, so each role reads and writes every copy in the
    zone (GetItem, PutItem: create, repair, shred by a marker) and deletes none."""
    for zone in project.residency.zones.values():
        for region in zone.regions:
            run = cell_runs[region]
            assert not [r for r in run.of_type(REPLICA) if r.props.get("globalTableArn", "").endswith(f"/appx-subject-keys-{zone.name}")]
            (store,) = [t for t in run.of_type(TABLE) if t.props.get("name") == f"appx-subject-keys-{zone.name}"]
            assert store.props["tags"]["data-class"] == "key-material"
            assert store.props["pointInTimeRecovery"] in (False, {"enabled": False}), store.name
            assert not store.props.get("streamEnabled") and not store.props.get("replicas"), store.name
            assert store.props["deletionProtectionEnabled"] is True
            assert store.props["ttl"] == {"attributeName": "expiration", "enabled": True}  # shred markers expire
            policies = {p.name: json.loads(p.props["policy"]) for p in run.of_type("aws:iam/rolePolicy:RolePolicy")}
            copies = {f"arn:aws:dynamodb:{r}:123456789012:table/appx-subject-keys-{zone.name}" for r in zone.regions}
            for fn in ("api", "worker", "stream"):
                doc = next(d for n, d in policies.items() if n.endswith(f"-{fn}-policy"))
                granted = [(set(st["Action"]), set(st["Resource"])) for st in doc["Statement"] if copies & set(st["Resource"])]
                assert granted == [({"dynamodb:GetItem", "dynamodb:PutItem"}, granted[0][1])] and copies <= granted[0][1], (region, fn)


def test_cell_data_key_rotates(cell_runs):
    for run in cell_runs.values():
        data_keys = [k for k in run.of_type(KEY) if k.props.get("tags", {}).get("purpose") == "data-at-rest"]
        assert len(data_keys) == 1 and data_keys[0].props["enableKeyRotation"] is True


def test_tables_are_encrypted_recoverable_protected_and_classified(project, cell_runs):
    for region, run in cell_runs.items():
        pitr_days = settings(project, region).pitr_recovery_period_days
        for table in run.of_type(TABLE):
            assert table.props["billingMode"] == "PAY_PER_REQUEST"
            sse = table.props["serverSideEncryption"]
            assert sse["enabled"] is True and sse["kmsKeyArn"].startswith(f"arn:aws:kms:{region}:")
            if not table.props["name"].startswith("appx-subject-keys-"):  # key stores: see below
                assert table.props["pointInTimeRecovery"] == {"enabled": True, "recoveryPeriodInDays": pitr_days}
            assert table.props["deletionProtectionEnabled"] is True
            assert table.props["tags"]["data-class"] in DATA_CLASSES
        for replica in run.of_type(REPLICA):
            assert replica.props["kmsKeyArn"].startswith(f"arn:aws:kms:{region}:")
            assert replica.props["pointInTimeRecovery"] is (not replica.props["globalTableArn"].split("/")[-1].startswith("appx-subject-keys-"))
            assert replica.props["deletionProtectionEnabled"] is True
            assert replica.props["tags"]["data-class"] in DATA_CLASSES
        classes = {t.props["name"]: t.props["tags"]["data-class"] for t in run.of_type(TABLE)}
        assert classes["appx-feed"] == "public"
        assert all(v == "restricted" for k, v in classes.items() if k.startswith("appx-restricted-"))


def test_replicated_and_consumed_tables_have_streams(cell_runs):
    owner = cell_runs["eu-west-1"]
    streamed = {t.props["name"]: t.props.get("streamViewType") for t in owner.of_type(TABLE)}
    assert streamed["appx-posts"] == streamed["appx-restricted-eu"] == streamed["appx-idempotency"] == "NEW_AND_OLD_IMAGES"
    assert streamed["appx-feed"] is None


def test_deferred_write_queue_has_a_cmk_encrypted_dlq_and_an_alarm(project, cell_runs):
    for region, run in cell_runs.items():
        cell = settings(project, region)
        queues = {q.props["name"]: q for q in run.of_type(QUEUE)}
        assert set(queues) == {"appx-deferred-writes", "appx-deferred-writes-dlq", "appx-stream-failures"}
        for queue in queues.values():
            assert queue.props["kmsMasterKeyId"].startswith(f"arn:aws:kms:{region}:")
            assert queue.props["messageRetentionSeconds"] <= 14 * 24 * 3600
        main = queues["appx-deferred-writes"]
        assert main.props["messageRetentionSeconds"] == cell.queue_message_retention_seconds
        # A standard queue's DLQ keeps the original enqueue time: it must retain longer.
        assert queues["appx-deferred-writes-dlq"].props["messageRetentionSeconds"] > main.props["messageRetentionSeconds"]
        redrive = json.loads(main.props["redrivePolicy"])
        assert redrive == {"deadLetterTargetArn": queues["appx-deferred-writes-dlq"].outputs["arn"], "maxReceiveCount": cell.max_receive_count}
        alarms = [a for a in run.of_type("aws:cloudwatch/metricAlarm:MetricAlarm") if a.props["namespace"] == "AWS/SQS"]
        assert sorted(a.props["dimensions"]["QueueName"] for a in alarms) == ["appx-deferred-writes-dlq", "appx-stream-failures"]


def test_functions_are_arm64_python313_traced_with_bounded_encrypted_logs(project, cell_runs):
    for region, run in cell_runs.items():
        cell = settings(project, region)
        functions = {f.props["name"]: f for f in run.of_type(FUNCTION)}
        assert set(functions) == {"appx-api", "appx-worker", "appx-stream"}
        for name, function in functions.items():
            assert function.props["architectures"] == ["arm64"]
            assert function.props["runtime"] == "python3.13"
            assert function.props["tracingConfig"] == {"mode": "Active"}
            assert function.props["kmsKeyArn"].startswith(f"arn:aws:kms:{region}:")
            assert function.props["reservedConcurrentExecutions"] == getattr(cell.reserved_concurrency, name.removeprefix("appx-"))
            assert function.props["environment"]["variables"]["APPX_REGION"] == region
        groups = {g.props["name"]: g for g in run.of_type("aws:cloudwatch/logGroup:LogGroup")}
        for name in functions:
            group = groups[f"/aws/lambda/{name}"]
            assert group.props["retentionInDays"] == cell.log_retention_days
            assert group.props["kmsKeyId"].startswith(f"arn:aws:kms:{region}:")


def test_function_environment_names_only_this_regions_zone_tables_and_keys(project, cell_runs):
    for region, run in cell_runs.items():
        api = next(f for f in run.of_type(FUNCTION) if f.props["name"] == "appx-api")
        zones = json.loads(api.props["environment"]["variables"]["APPX_ZONES"])
        assert set(zones) == {z.name for z in project.residency.zones_in(region)}
        for zone, entry in zones.items():
            assert entry["table"] == f"appx-restricted-{zone}"
            assert entry["keyArn"].startswith(f"arn:aws:kms:{region}:")


def test_event_sources_report_partial_batch_failures(cell_runs):
    for run in cell_runs.values():
        mappings = run.of_type("aws:lambda/eventSourceMapping:EventSourceMapping")
        sources = sorted(m.props["eventSourceArn"].split(":")[2] for m in mappings)
        assert sources.count("sqs") == 1 and sources.count("dynamodb") >= 2
        for mapping in mappings:
            assert mapping.props["functionResponseTypes"] == ["ReportBatchItemFailures"]


def test_http_api_domains_use_tls_1_2_and_stage_logs_and_throttles(project, cell_runs):
    domain = project.settings.domain
    for region, run in cell_runs.items():
        hosts = {d.props["domainName"]: d for d in run.of_type("aws:apigatewayv2/domainName:DomainName")}
        expected = {f"origin.{domain}", f"{region}.cells.{domain}", *(z.origin_host(domain) for z in project.residency.zones_in(region))}
        assert set(hosts) == expected
        for host in hosts.values():
            assert host.props["domainNameConfiguration"]["securityPolicy"] == "TLS_1_2"
            assert host.props["domainNameConfiguration"]["endpointType"] == "REGIONAL"
        (stage,) = run.of_type("aws:apigatewayv2/stage:Stage")
        assert stage.props["accessLogSettings"]["destinationArn"].startswith(f"arn:aws:logs:{region}:")
        assert stage.props["defaultRouteSettings"]["throttlingBurstLimit"] == settings(project, region).api_throttle.burst_limit
        routes = {r.props["routeKey"] for r in run.of_type("aws:apigatewayv2/route:Route")}
        assert "GET /health" in routes
        (permission,) = [p for p in run.of_type("aws:lambda/permission:Permission") if p.props["principal"] == "apigateway.amazonaws.com"]
        assert permission.props["sourceArn"].startswith(f"arn:aws:execute-api:{region}:")


def test_iam_grants_no_wildcard_action_and_no_wildcard_resource_on_data_actions(runs):
    for run in runs.values():
        for policy in run.of_type("aws:iam/rolePolicy:RolePolicy"):
            for statement in json.loads(policy.props["policy"])["Statement"]:
                actions = statement["Action"]
                assert all(a != "*" and not a.endswith(":*") for a in actions), statement
                if "*" in statement["Resource"]:
                    assert all(a.startswith("xray:") for a in actions), statement


def test_cells_export_what_the_global_stack_needs(project, cell_runs):
    for region, run in cell_runs.items():
        assert run.outputs["region"] == region
        assert run.outputs["executeApiHost"].endswith(f".execute-api.{region}.amazonaws.com")
        assert set(run.outputs["zones"]) == {z.name for z in project.residency.zones_in(region)}
        for zone in project.residency.zones_in(region):
            if zone.home_region == region:
                assert "BEGIN PUBLIC KEY" in run.outputs["zones"][zone.name]["publicKeyPem"]
        assert f"origin.{project.settings.domain}" in run.outputs["domainTargets"]
    assert "euTables" in cell_runs[project.eu_tables_home].outputs


def test_every_region_used_is_in_the_eu(cell_runs):
    for run in cell_runs.values():
        assert {run.region_of(r) for r in run.resources if r.type.startswith("aws:")} <= EU_REGIONS


def test_every_alarm_notifies_the_cells_encrypted_topic(cell_runs):
    for region, run in cell_runs.items():
        (topic,) = run.of_type("aws:sns/topic:Topic")
        assert topic.props["kmsMasterKeyId"].startswith(f"arn:aws:kms:{region}:")
        assert run.outputs["alarmTopicArn"] == topic.outputs["arn"]
        alarms = run.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")
        metrics = {a.props["metricName"] for a in alarms}
        assert {"5xx", "Throttles", "ApproximateNumberOfMessagesVisible", "ReplicationLatency"} <= metrics
        for alarm in alarms:
            assert alarm.props["alarmActions"] == [topic.outputs["arn"]], alarm.name
