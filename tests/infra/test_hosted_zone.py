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


def test_name_servers_are_printed_as_soon_as_the_zone_exists(project, caplog):
    # `pulumi stack output nameServers` is empty until every output resolves (after the
    # certificates validate, which needs the delegation): the program logs them on creation.
    caplog.set_level("INFO")
    run = run_stack(project.dns_owner)
    (zone,) = run.of_type(ZONE)
    assert f"delegate {project.settings.domain} to {' '.join(zone.outputs['nameServers'])} now" in caplog.text


def test_each_shared_validation_record_has_exactly_one_owner(project, cell_runs):
    # ACM gives every certificate of the account for a name the same validation record.
    owners: dict[str, list[str]] = {}
    for region, run in cell_runs.items():
        for record in run.of_type(RECORD):
            if record.props["name"].startswith("_"):
                owners.setdefault(record.props["name"], []).append(region)
                assert not record.props.get("allowOverwrite"), record.name
    for region, run in cell_runs.items():
        (certificate,) = run.of_type("aws:acm/certificate:Certificate")
        (validation,) = run.of_type("aws:acm/certificateValidation:CertificateValidation")
        options = {o["domainName"]: o["resourceRecordName"] for o in certificate.outputs["domainValidationOptions"]}
        assert set(options) == set(project.host_names(region))
        assert sorted(validation.props["validationRecordFqdns"]) == sorted(n.rstrip(".") for n in options.values())
        for host, record_name in options.items():
            owner = project.validation_record_owner(host)
            assert owners[record_name] == [owner], (host, owners[record_name])
            # The owner is deployed before, and destroyed after, every other cell that validates with it.
            assert project.deploy_order().index(owner) <= project.deploy_order().index(region)
    # origin.<domain> is on every cell's certificate, its record created by the first cell only.
    assert project.validation_record_owner(project.settings.public_origin_host) == project.deploy_order()[0]
    assert project.validation_record_owner("eu.origin." + project.settings.domain) == project.residency.zones["eu"].home_region


def test_destroying_a_non_owner_cell_leaves_the_shared_records(project, cell_runs):
    last = project.deploy_order()[-2]  # the last cell: destroyed first
    names = [r.props["name"] for r in cell_runs[last].of_type(RECORD) if r.props["name"].startswith("_")]
    assert names == [n for n in names if f".{last}.cells." in n], names
