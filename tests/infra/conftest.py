"""Every shipped stack, run once per session under mocks from its real YAML file."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from components.config import load_project
from offline.stack_runner import REPO_ROOT, StackRun, run_stack

PROJECT_FILES = ("Pulumi.yaml", "residency.yaml")


@pytest.fixture(scope="session")
def project():
    return load_project(REPO_ROOT)


@pytest.fixture(scope="session")
def runs(project) -> dict[str, StackRun]:
    return {name: run_stack(name) for name in project.deploy_order()}


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
