"""The hosted zone is created by the first cell, or taken by id from config."""

from __future__ import annotations

import yaml

from offline.stack_runner import run_stack

ZONE = "aws:route53/zone:Zone"
RECORD = "aws:route53/record:Record"


def record_zone_ids(run):
    return {r.props["zoneId"] for r in run.of_type(RECORD)}


def test_without_an_id_the_first_cell_creates_the_zone_and_everyone_uses_it(project, runs):
    owner = project.dns_owner
    assert owner == project.deploy_order()[0]
    (zone,) = runs[owner].of_type(ZONE)
    assert zone.props["name"] == project.settings.domain
    assert runs[owner].outputs["hostedZoneId"] == zone.outputs["zoneId"]
    assert len(runs[owner].outputs["nameServers"]) == 4
    for name, run in runs.items():
        if name != owner:
            assert run.of_type(ZONE) == []
        assert record_zone_ids(run) == {zone.outputs["zoneId"]}, name


def test_with_an_id_the_zone_is_taken_and_nothing_creates_one(project_copy):
    project_file = project_copy / "Pulumi.yaml"
    document = yaml.safe_load(project_file.read_text())
    document["config"]["hostedZoneId"]["default"] = "Z0123456789ABCDEFGHIJ"
    project_file.write_text(yaml.safe_dump(document, sort_keys=False))
    for stack in ("eu-west-1", "eu-west-3", "global"):
        run = run_stack(stack, project_copy)
        assert run.of_type(ZONE) == []
        assert record_zone_ids(run) == {"Z0123456789ABCDEFGHIJ"}


def test_a_malformed_zone_id_names_the_key(project_copy):
    import pytest

    from components.errors import ConfigError

    document = yaml.safe_load((project_copy / "Pulumi.eu-west-1.yaml").read_text())
    document["config"]["appx:hostedZoneId"] = "example.eu"
    (project_copy / "Pulumi.eu-west-1.yaml").write_text(yaml.safe_dump(document))
    with pytest.raises(ConfigError, match=r"Pulumi.eu-west-1.yaml: appx:hostedZoneId: not a Route 53 hosted zone id: 'example.eu'"):
        run_stack("eu-west-1", project_copy)
