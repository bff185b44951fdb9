"""Every rule under unknown values, exactly as a first `pulumi preview` hands them to pulumi-policy:
the engine's UNKNOWN sentinel inside the protobuf Struct of Analyze / AnalyzeStack, read through
pulumi-policy's own unknown-checking proxies by the real servicer (policy/analyzer.py).

pulumi-policy skips a rule that reads an unknown value (an advisory "can't run policy ... during
preview"). A mandatory rule of this pack is never skipped: it decides from what is known (property
dependencies, the resource graph) or fails closed with a violation that names the unknown value.
"""

from __future__ import annotations

import copy

import pytest

from offline.stack_runner import run_stack
from policy.analyzer import from_stack_run
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE as UNKNOWN
from tests.policy.baseline import baseline
from tools.preview import shipped_stack_names

BASELINE_NAMES = [r.name for r in baseline()]


def _leaves_unknown(value):
    if isinstance(value, dict):
        return {k: _leaves_unknown(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_leaves_unknown(v) for v in value]
    return UNKNOWN


def _with(name: str, change) -> list:
    resources = baseline()
    for r in resources:
        if r.name == name:
            r.props = change(copy.deepcopy(r.props))
    return resources


def _decides(result) -> None:
    assert [(s.policy, s.urn.split("::")[-1], s.property) for s in result.skipped] == []


@pytest.mark.parametrize("name", BASELINE_NAMES)
def test_every_property_unknown_no_rule_is_skipped(analyzer, name):
    _decides(analyzer.evaluate(_with(name, lambda props: {k: UNKNOWN for k in props})))


@pytest.mark.parametrize("name", BASELINE_NAMES)
def test_every_nested_value_unknown_no_rule_is_skipped(analyzer, name):
    _decides(analyzer.evaluate(_with(name, _leaves_unknown)))


def test_fail_closed_names_the_unknown_value_and_the_fix(analyzer):
    result = analyzer.evaluate(_with("api-kms", lambda props: {**props, "policy": UNKNOWN}))
    hits = [d for d in result.mandatory if d.policy == "iam-no-wildcard-action"]
    assert hits and ".policy is unknown at preview" in hits[0].message and "Fix: make .policy known" in hits[0].message


def _key_reference_from(analyzer, source_name: str):
    resources = baseline()
    by_name = {r.name: r for r in resources}
    table = by_name["appx-posts"]
    table.props["serverSideEncryption"] = {"enabled": True, "kmsKeyArn": UNKNOWN}
    table.property_dependencies = {"serverSideEncryption": [by_name[source_name].urn]}
    return analyzer.evaluate(resources).by_policy("dynamodb-cmk-encryption")


def test_unknown_key_arn_from_a_kms_key_is_a_cmk(analyzer):
    assert _key_reference_from(analyzer, "data-key") == []


def test_unknown_key_arn_from_anything_else_fails_naming_its_source(analyzer):
    hits = _key_reference_from(analyzer, "api-logs")
    assert len(hits) == 1 and hits[0].level == "mandatory"
    assert ".serverSideEncryption.kmsKeyArn is unknown at preview" in hits[0].message
    assert "'api-logs'" in hits[0].message and "Fix:" in hits[0].message


@pytest.fixture(scope="module")
def shipped_by_mode(shipped_stacks):
    preview = {name: from_stack_run(run_stack(name, mode="preview")) for name in shipped_stack_names()}
    return {"update": shipped_stacks, "preview": preview}


def test_shipped_stacks_decide_at_preview_what_they_decide_after_deploy(analyzer, shipped_by_mode):
    """At a first preview nothing is skipped, and every mandatory verdict equals the deployed stack's."""
    for name in shipped_stack_names():
        preview = analyzer.evaluate(shipped_by_mode["preview"][name])
        update = analyzer.evaluate(shipped_by_mode["update"][name])
        _decides(preview)
        _decides(update)
        assert sorted((d.policy, d.urn) for d in preview.mandatory) == sorted((d.policy, d.urn) for d in update.mandatory), name


def test_preview_hands_the_rules_unknown_values(shipped_by_mode):
    """The preview view really holds unknowns (else the test above would prove nothing)."""
    cell = shipped_by_mode["preview"]["eu-west-1"]
    assert any(UNKNOWN in repr(r.props) for r in cell)
    assert any(r.property_dependencies for r in cell)
