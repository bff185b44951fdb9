"""`edge-function-logs-where-it-runs` also refuses a residency definition whose edge regions leave
the EU (the parser refuses one first; the pack does not rely on it)."""

from __future__ import annotations

import dataclasses

from policy.rules import _common
from tests.policy.baseline import RESIDENCY, baseline

RULE = "edge-function-logs-where-it-runs"


def test_residency_edge_region_outside_the_eu_is_refused(analyzer, monkeypatch):
    london = dataclasses.replace(RESIDENCY, edge_regions=(*RESIDENCY.edge_regions, "eu-west-2"))
    monkeypatch.setattr(_common, "residency", lambda: london)
    hits = analyzer.evaluate(baseline()).by_policy(RULE)
    assert [d.urn.rsplit("::", 1)[1] for d in hits] == ["edge"]
    (hit,) = hits
    assert "may run in eu-west-2 (residency.yaml edgeRegions), outside the EU. Fix:" in hit.message
    assert hit.level == "mandatory"


def test_every_edge_region_is_checked_not_only_the_cell_regions(analyzer):
    resources = [r for r in baseline() if r.name != f"edge-logs-{RESIDENCY.edge_regions[-1]}"]
    (hit,) = analyzer.evaluate(resources).by_policy(RULE)
    assert f"may run in {RESIDENCY.edge_regions[-1]} (residency.yaml edgeRegions) but has no log group pre-created" in hit.message
