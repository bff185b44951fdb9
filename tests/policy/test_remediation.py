"""Remediations (log retention, key rotation): at level `remediate` the engine rewrites the inputs
and the remediated resource passes the rule; the rewrite changes nothing else."""

import pytest

from policy.analyzer import OfflineAnalyzer
from policy.rules import BY_NAME
from tests.policy.baseline import RESIDENCY, baseline, mutate
from tests.policy.variants import setp

CASES = [
    ("log-retention", "api-logs", setp("retentionInDays", None), {"retentionInDays": 30}),
    ("log-retention", "edge-logs", setp("retentionInDays", 3653), {"retentionInDays": 30}),
    ("kms-key-rotation", "data-key", setp("enableKeyRotation", False), {"enableKeyRotation": True}),
    ("kms-key-rotation", "edge-logs-key", setp("enableKeyRotation", None), {"enableKeyRotation": True}),
]


@pytest.mark.parametrize("rule,name,change,expected", CASES, ids=[f"{c[0]}:{c[1]}" for c in CASES])
def test_remediated_resource_passes(analyzer, detecting_analyzer, rule, name, change, expected):
    broken = mutate(baseline(), name, change)
    assert detecting_analyzer.evaluate(broken).by_policy(rule), "the broken resource must violate the rule"

    result = analyzer.evaluate(broken)
    (remediation,) = [m for m in result.remediations if m.urn.endswith(f"::{name}")]
    assert remediation.policy == rule
    assert {k: v for k, v in remediation.changed().items()} == expected
    assert result.diagnostics == []  # nothing left, for this rule or any other

    # The remediated inputs pass on their own, even with the rule at mandatory.
    fixed = [r for r in result.resources]
    assert detecting_analyzer.evaluate(fixed).diagnostics == []


def test_log_retention_remediation_honours_configured_maximum(detecting_analyzer):
    analyzer = OfflineAnalyzer({"log-retention": {"maxRetentionDays": 14}})
    result = analyzer.evaluate(baseline())  # baseline keeps logs 30 days
    changed = {m.urn.split("::")[-1]: m.changed() for m in result.remediations}
    every_log_group = ["api-logs", "edge-logs", *(f"edge-logs-{region}" for region in RESIDENCY.edge_regions)]
    assert changed == {name: {"retentionInDays": 14} for name in every_log_group}
    assert result.diagnostics == []


def test_remediation_only_where_safe():
    remediable = sorted(p.name for p in BY_NAME.values() if getattr(p, "has_remediation", lambda: False)())
    assert remediable == ["kms-key-rotation", "log-retention"]


def test_asymmetric_field_key_is_not_rotated(analyzer):
    result = analyzer.evaluate(baseline())
    assert not [m for m in result.remediations if "field-key" in m.urn]


def test_disabled_and_advisory_levels_are_honoured():
    broken = mutate(baseline(), "api-logs", setp("kmsKeyId", None))
    advisory = OfflineAnalyzer({"log-group-cmk-encryption": "advisory"}).evaluate(broken)
    assert [d.level for d in advisory.by_policy("log-group-cmk-encryption")] == ["advisory"]
    assert advisory.mandatory == []
    disabled = OfflineAnalyzer({"log-group-cmk-encryption": "disabled"}).evaluate(broken)
    assert disabled.diagnostics == []


def test_config_thresholds_are_applied():
    strict = OfflineAnalyzer({"pitr-recovery-period": {"maxRecoveryPeriodDays": 3}})
    hits = strict.evaluate(baseline()).by_policy("pitr-recovery-period")
    assert hits and all("at most 3" in d.message for d in hits)
