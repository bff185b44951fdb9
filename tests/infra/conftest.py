"""Every shipped stack, run under mocks from its real YAML file, once per session and mode.

`runs`, `cell_runs` and `global_run` are the stacks with every value known (mode `refresh`,
which registers what `update` does and adds the refreshed state and the planned diffs).

`mode` parametrizes over `MODES`: a test that uses `mode_runs` or `mode_cells` runs once as
`pulumi refresh` + `pulumi up` sees the stacks and once as a first `pulumi preview` does (computed
outputs unknown; property dependencies known). `refers()` asserts a reference in both.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from components.config import load_project
from offline.stack_runner import REPO_ROOT, UNKNOWN, RegisteredResource, StackRun, run_stack

PROJECT_FILES = ("Pulumi.yaml", "residency.yaml")
MODES = ("refresh", "preview")

_runs: dict[str, dict[str, StackRun]] = {}


def shipped_runs(mode: str) -> dict[str, StackRun]:
    """Every shipped stack in deploy order, run once per process and mode."""
    if mode not in _runs:
        _runs[mode] = {name: run_stack(name, mode=mode) for name in load_project(REPO_ROOT).deploy_order()}
    return _runs[mode]


def refers(run: StackRun, resource: RegisteredResource, prop: str, value, target: RegisteredResource, output: str = "arn") -> bool:
    """`value` (found in `resource`'s input `prop`) is `target`'s `output`: equal when the run knows
    both; in a preview, where either is unknown, `prop` depends on `target`."""
    if run.mode == "preview" and UNKNOWN in (value, target.outputs.get(output)):
        return target.urn in resource.property_dependencies.get(prop, [])
    return value == (target.id if output == "id" else target.outputs[output])


@pytest.fixture(scope="session")
def project():
    return load_project(REPO_ROOT)


@pytest.fixture(scope="session", params=MODES)
def mode(request) -> str:
    return request.param


@pytest.fixture(scope="session")
def mode_runs(mode) -> dict[str, StackRun]:
    return shipped_runs(mode)


@pytest.fixture(scope="session")
def mode_cells(mode_runs, project) -> dict[str, StackRun]:
    return {region: mode_runs[region] for region in project.cell_regions}


@pytest.fixture(scope="session")
def runs() -> dict[str, StackRun]:
    return shipped_runs("refresh")


@pytest.fixture(scope="session")
def cell_runs(runs, project) -> dict[str, StackRun]:
    return {region: runs[region] for region in project.cell_regions}


@pytest.fixture(scope="session")
def global_run(runs) -> StackRun:
    return runs["global"]


@pytest.fixture
def project_copy(tmp_path) -> Path:
    """A copy of the project's YAML files to mutate; the program code stays the repo's."""
    for path in [*(REPO_ROOT / f for f in PROJECT_FILES), *REPO_ROOT.glob("Pulumi.*.yaml")]:
        shutil.copy(path, tmp_path / path.name)
    return tmp_path
