"""Adding a cell is a config-only change: a stack file and a line in residency.yaml."""

from __future__ import annotations

import json

import yaml

from offline.stack_runner import run_stack

NEW = "eu-north-1"


def add_fourth_cell(project_copy):
    template = (project_copy / "Pulumi.eu-west-3.yaml").read_text()
    (project_copy / f"Pulumi.{NEW}.yaml").write_text(template.replace("eu-west-3", NEW))
    residency = yaml.safe_load((project_copy / "residency.yaml").read_text())
    residency["zones"]["eu"]["regions"].append(NEW)
    (project_copy / "residency.yaml").write_text(yaml.safe_dump(residency, sort_keys=False))


def test_a_fourth_cell_joins_the_eu_zone_and_the_edge(project_copy):
    add_fourth_cell(project_copy)
    cell = run_stack(NEW, project_copy)
    assert {cell.region_of(r) for r in cell.resources if r.type.startswith("aws:")} == {NEW}
    replicas = {r.props["globalTableArn"].rsplit("/", 1)[1] for r in cell.of_type("aws:dynamodb/tableReplica:TableReplica")}
    assert replicas == {"appx-restricted-eu", "appx-posts", "appx-idempotency"}
    # Its own, empty copy of the zone's key store: keys arrive by read repair (functions/appx_common/key_store.py).
    assert "appx-subject-keys-eu" in {t.props["name"] for t in cell.of_type("aws:dynamodb/table:Table")}
    zones = json.loads(next(f for f in cell.of_type("aws:lambda/function:Function") if f.props["name"] == "appx-api")
                       .props["environment"]["variables"]["APPX_ZONES"])
    assert zones["eu"]["keyStoreRegions"] == ["eu-west-1", "eu-central-1", "eu-west-3", NEW]
    assert sorted((k.props["tags"]["residency-zone"], k.props["tags"]["purpose"]) for k in cell.of_type("aws:kms/replicaKey:ReplicaKey")) == [
        ("eu", "field-encryption"), ("eu", "subject-key-wrapping"), ("eu", "subject-reference")]

    edge = run_stack("global", project_copy)
    checks = edge.of_type("aws:route53/healthCheck:HealthCheck")
    assert len(checks) == 4
    eu_records = [r for r in edge.of_type("aws:route53/record:Record") if r.props["name"] == "eu.origin.appx.example.eu"]
    assert sorted(r.props["setIdentifier"] for r in eu_records) == sorted(["eu-west-1", "eu-central-1", "eu-west-3", NEW])
    de_records = [r for r in edge.of_type("aws:route53/record:Record") if r.props["name"] == "de.origin.appx.example.eu"]
    assert [r.props["setIdentifier"] for r in de_records] == ["eu-central-1"]

    # The zone's home cell now alarms on replication to the new region too.
    home = run_stack("eu-west-1", project_copy)
    receiving = {a.props["dimensions"].get("ReceivingRegion") for a in home.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")}
    assert NEW in receiving
