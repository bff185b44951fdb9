"""Mutation suite over the shipped stacks' registered resources: every rule is exercised by at
least one realistic mutation and every mutation is caught (kill rate 100 %)."""

import pytest

from policy.analyzer import OfflineAnalyzer
from policy.mutations import MUTATIONS, run_mutations
from policy.rules import POLICIES


def test_every_rule_has_a_mutation():
    assert {m.rule for m in MUTATIONS} == {p.name for p in POLICIES}


@pytest.fixture(scope="module")
def outcomes(shipped_stacks, analyzer):
    return run_mutations(shipped_stacks, analyzer)


def test_kill_rate_is_100_percent(outcomes, capsys):
    killed = sum(o.killed for o in outcomes)
    with capsys.disabled():
        print(f"\nmutation kill rate: {killed}/{len(outcomes)} = {100.0 * killed / len(outcomes):.1f}%")
    assert len(outcomes) == len(MUTATIONS)
    survivors = [(o.mutation.rule, o.mutation.what, o.detail) for o in outcomes if not o.killed]
    assert survivors == []
