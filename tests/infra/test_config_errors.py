"""A bad value fails with an error naming the file, the key and the allowed values."""

from __future__ import annotations

import re

import pytest
import yaml

from components.errors import ConfigError
from offline.stack_runner import run_stack


def edit_yaml(path, change):
    document = yaml.safe_load(path.read_text())
    change(document)
    path.write_text(yaml.safe_dump(document, sort_keys=False))


def expect_error(project_copy, stack, file, key, *fragments):
    with pytest.raises(ConfigError) as caught:
        run_stack(stack, project_copy)
    message = str(caught.value)
    assert message.startswith(f"{file}: {key}: "), message
    for fragment in fragments:
        assert fragment in message, message
    return message


def test_unknown_region_in_a_zone(project_copy):
    edit_yaml(project_copy / "residency.yaml", lambda d: d["zones"]["eu"]["regions"].append("eu-west-9"))
    message = expect_error(project_copy, "eu-west-1", "residency.yaml", "zones.eu.regions[3]", "unknown region 'eu-west-9'", "allowed:")
    assert "eu-central-1" in message.split("allowed:")[1]


@pytest.mark.parametrize("region", ["eu-west-2", "us-east-1", "eu-central-2"])
def test_non_eu_region_in_a_zone(project_copy, region):
    edit_yaml(project_copy / "residency.yaml", lambda d: d["zones"]["de"]["regions"].__setitem__(0, region))
    expect_error(project_copy, "eu-west-1", "residency.yaml", "zones.de.regions[0]", f"{region} is not an EU region", "eu-west-1")


def test_zone_region_without_a_cell_stack(project_copy):
    edit_yaml(project_copy / "residency.yaml", lambda d: d["zones"]["eu"]["regions"].append("eu-north-1"))
    expect_error(project_copy, "eu-west-1", "residency.yaml", "zones.eu.regions[3]",
                 "eu-north-1 has no cell stack", "Pulumi.eu-north-1.yaml", "allowed: eu-central-1, eu-west-1, eu-west-3")


def test_country_mapped_to_an_unknown_zone(project_copy):
    edit_yaml(project_copy / "residency.yaml", lambda d: d["countries"].__setitem__("AT", "alpine"))
    expect_error(project_copy, "global", "residency.yaml", "countries.AT", "unknown zone 'alpine'", "allowed: de, eu")


def test_unmapped_countries_policy_must_be_deny_or_a_zone(project_copy):
    edit_yaml(project_copy / "residency.yaml", lambda d: d.__setitem__("unmappedCountries", "allow"))
    expect_error(project_copy, "eu-west-1", "residency.yaml", "unmappedCountries", "allowed: de, deny, eu")


def test_malformed_residency_yaml(project_copy):
    (project_copy / "residency.yaml").write_text("zones:\n  eu: [eu-west-1\n")
    expect_error(project_copy, "eu-west-1", "residency.yaml", "<document>", "malformed YAML")


def test_malformed_stack_yaml(project_copy):
    (project_copy / "Pulumi.eu-west-3.yaml").write_text("config:\n  appx:role: cell\n   bad indent: [\n")
    expect_error(project_copy, "eu-west-1", "Pulumi.eu-west-3.yaml", "<document>", "malformed YAML")


def test_bad_cell_setting_names_stack_file_key_and_range(project_copy):
    edit_yaml(project_copy / "Pulumi.eu-west-3.yaml", lambda d: d["config"]["appx:cell"].__setitem__("pitrRecoveryPeriodDays", 90))
    expect_error(project_copy, "eu-west-3", "Pulumi.eu-west-3.yaml", "appx:cell.pitrRecoveryPeriodDays", "allowed: 1..35")


def test_log_retention_must_be_a_cloudwatch_value(project_copy):
    edit_yaml(project_copy / "Pulumi.eu-west-1.yaml", lambda d: d["config"]["appx:cell"].__setitem__("logRetentionDays", 45))
    message = expect_error(project_copy, "eu-west-1", "Pulumi.eu-west-1.yaml", "appx:cell.logRetentionDays", "unsupported value 45")
    assert re.search(r"allowed: .*30", message)


def test_unknown_role(project_copy):
    edit_yaml(project_copy / "Pulumi.global.yaml", lambda d: d["config"].__setitem__("appx:role", "edge"))
    expect_error(project_copy, "global", "Pulumi.global.yaml", "appx:role", "allowed: cell, global")


def test_cell_stack_in_a_non_eu_region(project_copy):
    edit_yaml(project_copy / "Pulumi.eu-west-3.yaml", lambda d: d["config"].__setitem__("aws:region", "us-west-2"))
    expect_error(project_copy, "eu-west-1", "Pulumi.eu-west-3.yaml", "aws:region", "us-west-2 is not an EU region")


def test_quoted_country_hint_for_yaml_no(project_copy):
    text = (project_copy / "residency.yaml").read_text().replace('"NO": eu', "NO: eu")
    (project_copy / "residency.yaml").write_text(text)
    expect_error(project_copy, "eu-west-1", "residency.yaml", "countries.False", "quote it")


@pytest.mark.parametrize("region", ["eu-west-2", "us-east-1"])
def test_edge_region_outside_the_eu(project_copy, region):
    edit_yaml(project_copy / "residency.yaml", lambda d: d["edgeRegions"].append(region))
    message = expect_error(project_copy, "global", "residency.yaml", "edgeRegions[5]", f"{region} is not an EU region", "allowed:")
    assert "eu-north-1" in message.split("allowed:")[1]


def test_edge_regions_missing(project_copy):
    edit_yaml(project_copy / "residency.yaml", lambda d: d.pop("edgeRegions"))
    expect_error(project_copy, "global", "residency.yaml", "edgeRegions", "must be a non-empty list", "allowed: eu-central-1")


def test_country_served_from_an_edge_cache_outside_the_eu(project_copy):
    edit_yaml(project_copy / "residency.yaml", lambda d: d["countries"].__setitem__("GB", "eu"))
    expect_error(project_copy, "global", "residency.yaml", "countries.GB", "regional edge cache in eu-west-2, outside the EU",
                 "remove the country")


def test_edge_regions_must_include_the_edge_cache_of_a_whitelisted_country(project_copy):
    edit_yaml(project_copy / "residency.yaml", lambda d: d["edgeRegions"].remove("eu-central-1"))
    expect_error(project_copy, "global", "residency.yaml", "edgeRegions", "lacks eu-central-1: viewers in DE")
