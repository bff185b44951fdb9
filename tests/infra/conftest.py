"""Every shipped stack, run under mocks from its real YAML file, once per session and mode.

`mode` parametrizes the stack runs (offline.stack_runner): every test that uses `runs`,
`cell_runs` or `global_run` runs once per mode in `MODES`. `refresh` registers what `update`
does and adds the refreshed state and the planned diffs, so it stands for both.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from components.config import load_project
from offline.stack_runner import REPO_ROOT, StackRun, run_stack

PROJECT_FILES = ("Pulumi.yaml", "residency.yaml")
MODES = ("refresh",)

_runs: dict[str, dict[str, StackRun]] = {}


def shipped_runs(mode: str) -> dict[str, StackRun]:
    """Every shipped stack in deploy order, run once per process and mode."""
    if mode not in _runs:
        _runs[mode] = {name: run_stack(name, mode=mode) for name in load_project(REPO_ROOT).deploy_order()}
    return _runs[mode]


@pytest.fixture(scope="session")
def project():
    return load_project(REPO_ROOT)


@pytest.fixture(scope="session", params=MODES)
def mode(request) -> str:
    return request.param


@pytest.fixture(scope="session")
def runs(mode) -> dict[str, StackRun]:
    return shipped_runs(mode)


@pytest.fixture(scope="session")
def cell_runs(runs, project) -> dict[str, StackRun]:
    return {region: runs[region] for region in project.cell_regions}


@pytest.fixture(scope="session")
def global_run(runs) -> StackRun:
    return runs["global"]


@pytest.fixture(scope="session")
def refreshed_cells(project) -> dict[str, StackRun]:
    """The cells as `pulumi refresh` sees them, whatever `mode` is."""
    return {region: shipped_runs("refresh")[region] for region in project.cell_regions}


@pytest.fixture
def project_copy(tmp_path) -> Path:
    """A copy of the project's YAML files to mutate; the program code stays the repo's."""
    for path in [*(REPO_ROOT / f for f in PROJECT_FILES), *REPO_ROOT.glob("Pulumi.*.yaml")]:
        shutil.copy(path, tmp_path / path.name)
    return tmp_path
