"""cell-capacity-n-1 decides at preview time: every value it reads is a configuration input, so
it still refuses an undersized cell when everything computed by AWS is still unknown."""

from __future__ import annotations

from pulumi_policy.proxy import UNKNOWN_NUMBER_VALUE, UNKNOWN_STRING_VALUE

from tests.policy.baseline import baseline, mutate
from tests.policy.conftest import ROOT
from tests.policy.variants import setp

RULE = "cell-capacity-n-1"
# What `pulumi preview` does not know yet for resources to be created: ids, ARNs and every input
# computed from another resource's outputs.
PREVIEW_UNKNOWNS = {
    "aws:lambda/function:Function": ("role", "kmsKeyArn", "arn", "invokeArn", "qualifiedArn"),
    "aws:apigatewayv2/stage:Stage": ("apiId", "arn", "invokeUrl", "executionArn"),
}


def _as_in_preview(resources):
    for r in resources:
        for key in PREVIEW_UNKNOWNS.get(r.type, ()):
            r.props[key] = UNKNOWN_STRING_VALUE
    return resources


def test_undersized_cell_refused_in_preview(analyzer):
    resources = _as_in_preview(mutate(baseline(), "api", setp("reservedConcurrentExecutions", 20)))
    hits = analyzer.evaluate(resources).by_policy(RULE)
    assert [d.level for d in hits] == ["mandatory"]
    assert "binding quota 'Lambda appx-api reserved concurrency' in eu-west-1" in hits[0].message
    assert "Fix: set appx:cell.reservedConcurrency.api to at least" in hits[0].message


def test_compliant_cell_passes_in_preview(analyzer):
    assert analyzer.evaluate(_as_in_preview(baseline())).by_policy(RULE) == []


def test_an_unknown_setting_would_make_pulumi_policy_skip_the_rule(analyzer):
    """The harness does model preview unknowns: a rule reading one is skipped with pulumi-policy's
    advisory instead of deciding, which is why the rule reads configuration inputs only."""
    resources = mutate(baseline(), "api-stage", setp("defaultRouteSettings.throttlingRateLimit", 200))
    assert [d.level for d in analyzer.evaluate(resources).by_policy(RULE)] == ["mandatory"]
    resources = mutate(resources, "api", setp("reservedConcurrentExecutions", UNKNOWN_NUMBER_VALUE))
    skipped = analyzer.evaluate(resources).by_policy(RULE)
    assert [(d.level, d.message.startswith("can't run policy")) for d in skipped] == [("advisory", True)]


def test_fixed_cost_items_match_what_the_shipped_stacks_register(shipped_stacks):
    """docs/capacity.md counts the fixed monthly items with formulas (so it can price layouts that
    have no stacks yet); for the shipped layout they must equal what the program registers."""
    from collections import Counter

    from tools.plan import fixed_cost_items, load_plan_inputs, make_plan

    p = make_plan(load_plan_inputs(ROOT))
    counts = {item: n for item, (n, _) in fixed_cost_items(p, dict(p.profile.monthly_prices_usd)).items()}
    registered = Counter(r.type for resources in shipped_stacks.values() for r in resources)
    assert counts["kmsKey"] == registered["aws:kms/key:Key"] + registered["aws:kms/replicaKey:ReplicaKey"]
    assert counts["alarm"] == registered["aws:cloudwatch/metricAlarm:MetricAlarm"]
    assert counts["healthCheck"] == registered["aws:route53/healthCheck:HealthCheck"]
    assert counts["webAcl"] == registered["aws:wafv2/webAcl:WebAcl"]
    web_acl = next(r for resources in shipped_stacks.values() for r in resources if r.type == "aws:wafv2/webAcl:WebAcl")
    assert counts["webAclRule"] == len(web_acl.props["rules"])
