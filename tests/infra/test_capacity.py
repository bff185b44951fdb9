"""The capacity plan (components/capacity_plan.py, python -m tools.plan): N-1 failures name the
binding quota, regions with lower quotas bind, the KMS figure follows the functions' declared
usage, replicated writes count in every replica, config errors name file and key."""

from __future__ import annotations

import dataclasses
import json
import math
import shutil
from pathlib import Path

import pytest
import yaml

import functions.appx_common.kms_usage as kms_usage
from components.capacity_plan import alternative_layout, load_plan_inputs, plan_for, shipped_layout
from components.capacity_profile import parse_profile, parse_quotas
from components.errors import ConfigError
from tools import plan as plan_cli

ROOT = Path(__file__).resolve().parents[2]
SIX = ["eu-west-1", "eu-central-1", "eu-west-3", "eu-north-1", "eu-south-1", "eu-south-2"]


@pytest.fixture(scope="module")
def inputs():
    return load_plan_inputs(ROOT)


def _line(scenario, region, key):
    return next(line for line in scenario.lines if line.region == region and line.key == key)


def _scenario(p, down):
    return next(s for s in p.scenarios if s.down == down)


def test_shipped_layout_passes_n_minus_1(inputs):
    p = plan_for(inputs, shipped_layout(inputs.project))
    assert p.failures() == []
    # What binds first is a regional quota, not our own settings: RSA decrypts in Frankfurt.
    scenario, line = p.region_binding("eu-central-1")
    assert line.key == "kmsRsa" and line.capacity == 1000 and scenario.down is not None


def test_undersized_cell_fails_n_minus_1_and_names_the_binding_quota(inputs):
    layout = shipped_layout(inputs.project)
    small = dataclasses.replace(layout.limits["eu-central-1"], api_reserved=50)
    p = plan_for(inputs, layout.with_limits("eu-central-1", small, "test"))
    failing = {(s.down, line.region, line.key) for s, line in p.failures()}
    assert ("eu-west-3", "eu-central-1", "apiConcurrency") in failing
    scenario, binding = p.region_binding("eu-central-1")
    assert binding.key == "apiConcurrency" and binding.quota == "Lambda appx-api reserved concurrency"
    assert binding.headroom < 0 and binding.setting == "appx:cell.reservedConcurrency.api"
    assert p.ceiling()[2].key == "apiConcurrency"


def test_regions_with_the_lower_api_gateway_quota_bind_on_it(inputs):
    p = plan_for(inputs, alternative_layout(inputs.project, SIX))
    for region in ("eu-south-1", "eu-south-2"):
        _, line = p.region_binding(region)
        assert (line.key, line.capacity) == ("apiGatewayRps", 2500), (region, line.quota)
    # The same demand against the 10,000 of the other regions binds elsewhere.
    for region in ("eu-west-1", "eu-west-3", "eu-north-1"):
        assert p.region_binding(region)[1].key != "apiGatewayRps"
    assert p.ceiling()[2].region in ("eu-south-1", "eu-south-2")


def test_account_overrides_replace_the_default(inputs):
    raw = yaml.safe_load((ROOT / "quotas.yaml").read_text())
    raw["accountOverrides"] = {"eu-south-1": {"apiGatewayRps": 10000}, "eu-south-2": {"apiGatewayRps": 10000}}
    quotas = parse_quotas(raw)
    assert quotas.value("apiGatewayRps", "eu-south-1") == 10000 and "accountOverrides" in quotas.source("apiGatewayRps", "eu-south-1")
    p = plan_for(dataclasses.replace(inputs, quotas=quotas), alternative_layout(inputs.project, SIX))
    assert p.region_binding("eu-south-1")[1].key != "apiGatewayRps"


def test_kms_figure_follows_the_functions_declared_usage(inputs, monkeypatch):
    def rsa_and_symmetric(p):
        s = p.all_up
        return (sum(l.demand for l in s.lines if l.key == "kmsRsa"), sum(l.demand for l in s.lines if l.key == "kmsSymmetric"))

    layout = shipped_layout(inputs.project)
    rsa, symmetric = rsa_and_symmetric(plan_for(inputs, layout))
    mix, peak = inputs.profile.route_mix, inputs.profile.peak_total
    declared = kms_usage.KMS_OPS_PER_REQUEST
    assert math.isclose(rsa, peak * sum(share * declared[kind].rsa for kind, share in mix.items()), rel_tol=1e-9)
    assert math.isclose(symmetric, peak * sum(share * declared[kind].symmetric for kind, share in mix.items()), rel_tol=1e-9)
    # Per-subject keys moved the RSA unwrap off profile reads; were it back, only the declaration
    # would change, and the plan would follow.
    assert declared["profileRead"].rsa == 0
    changed = {**declared, "profileRead": kms_usage.KmsOps(rsa=1, symmetric=declared["profileRead"].symmetric)}
    monkeypatch.setattr(kms_usage, "KMS_OPS_PER_REQUEST", changed)
    rsa2, symmetric2 = rsa_and_symmetric(plan_for(inputs, layout))
    assert math.isclose(rsa2 - rsa, peak * mix["profileRead"], rel_tol=1e-9)
    assert math.isclose(symmetric2, symmetric, rel_tol=1e-9)


def test_replicated_writes_count_in_every_live_replica_region(inputs):
    """The subject-key store's copies (written by the functions in every region of the zone) are
    written only by replicated writes; the restricted table also takes serving-only condition checks."""
    p = plan_for(inputs, shipped_layout(inputs.project))
    assert all(_line(p.all_up, r, "ddbWrite:appx-restricted-eu").demand > 0 for r in ("eu-west-1", "eu-central-1", "eu-west-3"))
    table = "ddbWrite:appx-subject-keys-eu"
    up = [_line(p.all_up, r, table).demand for r in ("eu-west-1", "eu-central-1", "eu-west-3")]
    assert up[0] > 0 and up == pytest.approx([up[0]] * 3)
    down = _scenario(p, "eu-west-3")
    assert [_line(down, r, table).demand for r in ("eu-west-1", "eu-central-1")] == pytest.approx(up[:2])
    assert not any(line.region == "eu-west-3" for line in down.lines)


def test_strict_zone_is_unavailable_under_its_own_region_loss_by_design(inputs):
    p = plan_for(inputs, shipped_layout(inputs.project))
    assert _scenario(p, "eu-central-1").unavailable_zones == ("de",)
    assert all(s.unavailable_zones == () for s in p.scenarios if s.down != "eu-central-1")
    # de's personal requests land nowhere when Frankfurt is lost; its public reads still do.
    assert all(line.by_zone.get("de", 0) == 0 for line in _scenario(p, "eu-central-1").lines
               if line.key in ("kmsRsa", "ddbWrite:appx-restricted-eu"))


def test_lambda_at_edge_draws_on_the_region_where_it_runs(inputs):
    p = plan_for(inputs, shipped_layout(inputs.project))
    edge_ms = inputs.profile.duration_ms["edge"] / 1000
    personal = sum(share for kind, share in inputs.profile.route_mix.items() if kind not in ("feed", "postRead"))
    edge = sum(line.demand - line.fixed for line in p.all_up.lines if line.key == "unreserved")
    assert edge == pytest.approx(inputs.profile.peak_total * personal * edge_ms)
    assert _line(p.all_up, "eu-west-2", "unreserved").demand > 100  # London runs it, though no cell lives there
    # Reservations shrink what Lambda@Edge and the 100 unreserved may use in the cell's region.
    frankfurt = _line(p.all_up, "eu-central-1", "unreserved")
    assert frankfurt.capacity == 1000 - shipped_layout(inputs.project).limits["eu-central-1"].reserved_total


@pytest.mark.parametrize("change,key", [
    (lambda d: d["routeMix"].update(feed=0.9), "routeMix"),
    (lambda d: d["peakRequestsPerSecond"].update(US=10), "peakRequestsPerSecond.US"),
    (lambda d: d["peakRequestsPerSecond"].update(FR=-1), "peakRequestsPerSecond.FR"),
    (lambda d: d.update(publicCacheHitRatio=1.5), "publicCacheHitRatio"),
    (lambda d: d["itemSizesBytes"].pop("profile"), "itemSizesBytes.profile"),
    (lambda d: d["routeMix"].update(search=0.0), "routeMix.search"),
])
def test_profile_errors_name_file_and_key(inputs, change, key):
    raw = yaml.safe_load((ROOT / "capacity.yaml").read_text())
    change(raw)
    with pytest.raises(ConfigError) as err:
        parse_profile(raw, inputs.project.residency)
    assert err.value.file == "capacity.yaml" and err.value.key == key and err.value.allowed


@pytest.mark.parametrize("change,key", [
    (lambda d: d["quotas"]["kmsRsaPerSecond"].pop("source"), "quotas.kmsRsaPerSecond.source"),
    (lambda d: d["quotas"]["apiGatewayRps"]["regions"].update({"eu-west-9": 1}), "quotas.apiGatewayRps.regions.eu-west-9"),
    (lambda d: d.update(accountOverrides={"eu-west-1": {"lambdaConcurrency": 5}}), "accountOverrides.eu-west-1.lambdaConcurrency"),
    (lambda d: d.update(accountOverrides={"eu-west-1": {"kmsRsaPerSecond": "lots"}}), "accountOverrides.eu-west-1.kmsRsaPerSecond"),
])
def test_quota_errors_name_file_and_key(change, key):
    raw = yaml.safe_load((ROOT / "quotas.yaml").read_text())
    change(raw)
    with pytest.raises(ConfigError) as err:
        parse_quotas(raw)
    assert err.value.file == "quotas.yaml" and err.value.key == key


@pytest.fixture
def repo(tmp_path, monkeypatch):
    """A copy of the files the plan reads, with tools.plan pointed at it."""
    for name in ("Pulumi.yaml", "residency.yaml", "capacity.yaml", "quotas.yaml", "latency.yaml",
                 *[p.name for p in ROOT.glob("Pulumi.*.yaml")]):
        shutil.copy(ROOT / name, tmp_path / name)
    (tmp_path / "docs").mkdir()
    shutil.copy(ROOT / "docs" / "capacity.md", tmp_path / "docs" / "capacity.md")
    monkeypatch.setattr(plan_cli, "ROOT", tmp_path)
    monkeypatch.setattr(plan_cli, "DOC", tmp_path / "docs" / "capacity.md")
    return tmp_path


def _edit_cell(repo, region, **cell):
    path = repo / f"Pulumi.{region}.yaml"
    doc = yaml.safe_load(path.read_text())
    for key, value in cell.items():
        node = doc["config"]["appx:cell"]
        *parents, last = key.split(".")
        for p in parents:
            node = node[p]
        node[last] = value
    path.write_text(yaml.safe_dump(doc))


def test_cli_exit_codes(repo, capsys):
    assert plan_cli.main([]) == 0
    assert plan_cli.main(["--check"]) == 0
    _edit_cell(repo, "eu-west-3", **{"apiThrottle.rateLimit": 1000})
    capsys.readouterr()
    assert plan_cli.main(["--json"]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert doc["passesN1"] is False
    assert any(f.startswith("eu-central-1 down: eu-west-3 API stage throttle rateLimit") for f in doc["failures"])
    assert plan_cli.main(["--check"]) == 1  # the published comparison no longer matches


def test_cli_config_errors_exit_2_naming_file_and_key(repo, capsys):
    assert plan_cli.main(["--layout", "eu-west-1,us-east-1"]) == 2
    assert "--layout: us-east-1" in capsys.readouterr().err
    assert plan_cli.main(["--layout", "eu-west-1,eu-west-3"]) == 2
    assert "--layout: de: the single-region zone de needs its region eu-central-1" in capsys.readouterr().err
    _edit_cell(repo, "eu-west-1", workerMaxConcurrency=5000)
    assert plan_cli.main([]) == 2
    assert "Pulumi.eu-west-1.yaml: appx:cell.workerMaxConcurrency" in capsys.readouterr().err
    (repo / "capacity.yaml").write_text((repo / "capacity.yaml").read_text().replace("publicCacheHitRatio: 0.9", "publicCacheHitRatio: high"))
    assert plan_cli.main([]) == 2
    assert "capacity.yaml: publicCacheHitRatio" in capsys.readouterr().err


def test_failover_scale_up_is_the_concurrency_the_survivors_must_add(inputs):
    p = plan_for(inputs, shipped_layout(inputs.project))
    down = _scenario(p, "eu-central-1")
    added = _line(down, "eu-west-3", "apiScaleUp")
    grown = _line(down, "eu-west-3", "apiConcurrency").demand - _line(p.all_up, "eu-west-3", "apiConcurrency").demand
    assert added.demand == pytest.approx(grown) and grown > 0
    assert added.capacity == 1000 and not any(l.key == "apiScaleUp" for l in p.all_up.lines)
