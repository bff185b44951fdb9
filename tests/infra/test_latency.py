"""The latency model (latency.yaml, components/latency.py) reproduces its backbone figures, its
distance term is the fit over them, and routing picks follow it."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from components.errors import ConfigError
from components.latency import Point, great_circle_km, load_latency_model, parse_latency_model
from components.residency import load_residency

ROOT = Path(__file__).resolve().parents[2]
# FACTS.md: "RTT ≈ 3.7 ms + 19.5 ms per 1,000 km great-circle", fitted on the same sample.
FACTS_FIT = (3.7, 19.5)


@pytest.fixture(scope="module")
def model():
    return load_latency_model(ROOT / "latency.yaml", load_residency(ROOT / "residency.yaml").countries)


def test_backbone_figures_are_reproduced(model):
    raw = yaml.safe_load((ROOT / "latency.yaml").read_text())
    assert len(raw["measuredRttMs"]) >= 10
    for a, b, ms in raw["measuredRttMs"]:
        assert model.backbone_ms(a, b) == model.backbone_ms(b, a) == ms


def test_distance_term_is_the_fit_over_the_backbone(model):
    assert model.fit.intercept_ms == pytest.approx(FACTS_FIT[0], abs=1.2)
    assert model.fit.ms_per_1000km == pytest.approx(FACTS_FIT[1], abs=1.5)
    # Every measured pair within 6 ms of the fitted line: the distance term is a fair stand-in.
    assert max(abs(r) for r in model.residuals().values()) < 6
    # And it is the least-squares line: moving it makes the squared error worse.
    def sse(a, b):
        return sum((ms - a - b * great_circle_km(*(model.regions[r] for r in pair)) / 1000) ** 2 for pair, ms in model.measured_ms.items())
    best = sse(model.fit.intercept_ms, model.fit.ms_per_1000km)
    assert all(sse(model.fit.intercept_ms + da, model.fit.ms_per_1000km + db) > best for da, db in ((0.5, 0), (-0.5, 0), (0, 0.5), (0, -0.5)))


def test_great_circle_distance():
    # Dublin - Frankfurt, ~1,090 km.
    assert great_circle_km(Point(53.35, -6.26), Point(50.11, 8.68)) == pytest.approx(1090, abs=15)


def test_unmeasured_pairs_use_the_distance_term(model):
    km = great_circle_km(model.regions["eu-south-2"], model.regions["eu-west-3"])
    assert model.backbone_ms("eu-south-2", "eu-west-3") == pytest.approx(model.fit.rtt(km))


def test_picks_follow_geography(model):
    cells = ("eu-west-1", "eu-central-1", "eu-west-3")
    assert model.pick("IE", cells) == "eu-west-1"
    assert model.pick("FR", cells) == "eu-west-3"
    assert model.pick("DE", cells) == "eu-central-1"
    # The strict zone's cost: a German user has no cell when Frankfurt is lost, an eu user moves.
    assert model.pick("DE", ()) is None
    assert model.viewer_ms("DE", "eu-west-3") > model.viewer_ms("DE", "eu-central-1")


def test_missing_country_centre_names_file_and_key():
    raw = yaml.safe_load((ROOT / "latency.yaml").read_text())
    del raw["countries"]["PT"]
    with pytest.raises(ConfigError) as err:
        parse_latency_model(raw, "latency.yaml", ["PT"])
    assert (err.value.file, err.value.key) == ("latency.yaml", "countries.PT")


def test_bad_backbone_entry_names_file_and_key():
    raw = yaml.safe_load((ROOT / "latency.yaml").read_text())
    raw["measuredRttMs"][0] = ["eu-west-1", "eu-west-9", 13]
    with pytest.raises(ConfigError) as err:
        parse_latency_model(raw, "latency.yaml")
    assert err.value.key == "measuredRttMs[0]"


def test_local_runtime_routes_like_the_plan(model):
    """tools/local (Route 53 emulation) ranks regions with the same model as the capacity plan."""
    from tools.local.topology import load_topology

    topology = load_topology(ROOT)
    for country, zone in topology.project.residency.countries.items():
        regions = topology.zones[zone].regions
        assert topology.latency_order(country, regions)[0] == model.pick(country, regions), country
