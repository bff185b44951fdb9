import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from policy.analyzer import OfflineAnalyzer  # noqa: E402


@pytest.fixture(scope="session")
def analyzer():
    """The real pack (args taken from policy/__main__.py) on pulumi-policy's servicer, default config."""
    return OfflineAnalyzer()


@pytest.fixture(scope="session")
def detecting_analyzer():
    """The pack with remediable rules raised to mandatory, so their validations report instead of fixing."""
    from policy.rules import POLICIES

    return OfflineAnalyzer({p.name: "mandatory" for p in POLICIES if p.enforcement_level.value == "remediate"})


@pytest.fixture(scope="session")
def shipped_stacks():
    """Registered resources of every shipped stack (Pulumi.<stack>.yaml), run under mocks once."""
    from policy.analyzer import from_stack_run
    from tools.preview import shipped_stack_names
    from offline.stack_runner import run_stack

    return {name: from_stack_run(run_stack(name)) for name in shipped_stack_names()}


@pytest.fixture(autouse=True)
def no_leaked_stack_config(monkeypatch):
    """Mock stack runs leave their config in the Pulumi runtime, and other suites set AWS region
    variables; synthetic tests must see neither (the pack falls back to the stack's aws:region,
    then to AWS_REGION / AWS_DEFAULT_REGION, as the AWS provider does)."""
    from pulumi.runtime import config

    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    token = config.CONFIG.set({})
    yield
    config.CONFIG.reset(token)
