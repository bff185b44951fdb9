"""Mutation suite over the shipped stacks' registered resources, as an update and as a first-deploy
preview sees them: every rule is exercised by at least one realistic mutation in each mode and every
mutation is caught (kill rate 100 % per mode)."""

import pytest

from policy.mutations import MODES, MUTATIONS, load_stacks, run_mutations
from policy.rules import POLICIES
from tools.preview import shipped_stack_names


@pytest.mark.parametrize("mode", MODES)
def test_every_rule_has_a_mutation(mode):
    assert {m.rule for m in MUTATIONS if mode in m.modes} == {p.name for p in POLICIES}


@pytest.fixture(scope="module", params=MODES)
def outcomes(request, shipped_stacks, analyzer):
    stacks = shipped_stacks if request.param == "update" else load_stacks(shipped_stack_names(), request.param)
    return request.param, run_mutations(stacks, analyzer, mode=request.param)


def test_kill_rate_is_100_percent(outcomes, capsys):
    mode, results = outcomes
    killed = sum(o.killed for o in results)
    with capsys.disabled():
        print(f"\nmutation kill rate ({mode}): {killed}/{len(results)} = {100.0 * killed / len(results):.1f}%")
    assert len(results) == len([m for m in MUTATIONS if mode in m.modes])
    survivors = [(o.mutation.rule, o.mutation.what, o.detail) for o in results if not o.killed]
    assert survivors == []
