"""Per rule: the compliant baseline passes, every violating variant is flagged (through the real
analyzer servicer) with a message naming the resource and the fix."""

import pytest

from policy.rules import BY_NAME, POLICIES
from tests.policy.baseline import baseline, mutate
from tests.policy.variants import VARIANTS, apply_special


def test_pack_has_at_least_20_rules_with_gdpr_metadata():
    assert len(POLICIES) >= 20
    for p in POLICIES:
        assert p.severity is not None, p.name
        assert p.enforcement_level is not None, p.name
        assert p.framework.name == "GDPR", p.name
        assert any(a in p.framework.reference for a in ("Art. 5", "Art. 17", "Art. 25", "Art. 30", "Art. 32", "Art. 44")), p.name
        assert p.framework.specification.startswith("Regulation (EU) 2016/679 Art."), p.name
        assert p.remediation_steps, p.name


def test_threshold_rules_have_config_schemas():
    for name, key in [("log-retention", "maxRetentionDays"), ("queue-retention", "maxMessageRetentionSeconds"),
                      ("pitr-recovery-period", "maxRecoveryPeriodDays"), ("cloudfront-viewer-tls", "minimumProtocolVersion"),
                      ("sqs-dead-letter-queue", "maxReceiveCount")]:
        schema = BY_NAME[name].config_schema
        assert schema is not None and "default" in schema.properties[key], name


def test_articles_covered():
    refs = " ".join(p.framework.reference for p in POLICIES)
    for article in ("Art. 5", "Art. 17", "Art. 25", "Art. 30", "Art. 32", "Art. 44"):
        assert article in refs


def test_baseline_is_compliant(analyzer):
    result = analyzer.evaluate(baseline())
    assert [(d.policy, d.urn, d.message) for d in result.diagnostics] == []
    assert result.remediations == []


def test_every_rule_has_a_variant():
    assert {v[0] for v in VARIANTS} == {p.name for p in POLICIES}


@pytest.mark.parametrize("rule,name,what,change", VARIANTS, ids=[f"{v[0]}:{v[2]}" for v in VARIANTS])
def test_variant_is_flagged(analyzer, detecting_analyzer, rule, name, what, change):
    resources = apply_special(rule, name, what, mutate(baseline(), name, change))
    remediable = BY_NAME[rule].enforcement_level.value == "remediate"
    if remediable:  # at the default level the engine fixes it: a remediation, and no violation left
        fixed = analyzer.evaluate(resources)
        assert [m.policy for m in fixed.remediations if m.urn.endswith(f"::{name}")] == [rule]
        assert fixed.by_policy(rule) == []
    result = (detecting_analyzer if remediable else analyzer).evaluate(resources)
    hits = [d for d in result.diagnostics if d.policy == rule]
    assert hits, f"{rule} missed: {what}; got {[(d.policy, d.message) for d in result.diagnostics]}"
    named = [d for d in hits if f"'{name}'" in d.message]
    assert named, f"{rule}: no message names {name!r}: {[d.message for d in hits]}"
    for d in named:
        assert "Fix:" in d.message, d.message
        assert d.urn.endswith(f"::{name}"), d.urn
        assert d.level == "mandatory"
