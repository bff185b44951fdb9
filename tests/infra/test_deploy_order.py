"""`python -m tools.deploy_order`: every cell after the cells it references; a cycle is refused."""

from __future__ import annotations

import subprocess
import sys

import pytest

from components.config import load_project
from components.errors import ConfigError
from offline.stack_runner import REPO_ROOT
from tests.infra.test_config_errors import edit_yaml


def deploy_order(cwd):
    return subprocess.run([sys.executable, "-m", "tools.deploy_order"], cwd=cwd, capture_output=True, text=True,
                          env={"PYTHONPATH": str(REPO_ROOT), "PATH": "/usr/bin:/bin"})


def test_shipped_order_puts_every_cell_after_the_cells_it_references(project):
    order = project.deploy_order()
    assert order == ["eu-west-1", "eu-central-1", "eu-west-3", "global"]
    for cell, references in project.zone_references().items():
        assert all(order.index(home) < order.index(cell) for home in references), cell


def test_cli_prints_the_order(project_copy):
    done = deploy_order(project_copy)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["eu-west-1", "eu-central-1", "eu-west-3", "global"]


def test_a_home_listed_after_its_replica_still_deploys_first(project_copy):
    # Zone 'de' now also lives in eu-west-3 and is homed there: eu-central-1 must wait for eu-west-3.
    edit_yaml(project_copy / "residency.yaml", lambda d: d["zones"]["de"].__setitem__("regions", ["eu-west-3", "eu-central-1"]))
    order = load_project(project_copy).deploy_order()
    assert order.index("eu-west-3") < order.index("eu-central-1")
    assert order.index("eu-west-1") < order.index("eu-west-3")


def _cyclic(document):
    # 'eu' is homed in eu-west-1 and replicated to eu-central-1; 'de' is homed in eu-central-1 and
    # replicated to eu-west-1: each cell waits for the other's outputs.
    document["zones"]["de"]["regions"] = ["eu-central-1", "eu-west-1"]


def test_cycle_is_refused_with_the_cycle_named(project_copy):
    edit_yaml(project_copy / "residency.yaml", _cyclic)
    with pytest.raises(ConfigError) as caught:
        load_project(project_copy).deploy_order()
    message = str(caught.value)
    assert message.startswith("residency.yaml: zones: cell stacks reference each other in a cycle: "), message
    assert "eu-central-1 -> eu-west-1 -> eu-central-1" in message


def test_cli_refuses_a_cycle_and_prints_no_order(project_copy):
    edit_yaml(project_copy / "residency.yaml", _cyclic)
    done = deploy_order(project_copy)
    assert done.returncode == 2
    assert done.stdout == ""
    assert "cycle: eu-central-1 -> eu-west-1 -> eu-central-1" in done.stderr


def test_longer_cycle_is_named_in_full(project_copy):
    def three(document):
        document["zones"] = {
            "a": {"regions": ["eu-west-1", "eu-central-1"]},
            "b": {"regions": ["eu-central-1", "eu-west-3"]},
            "c": {"regions": ["eu-west-3", "eu-west-1"]},
        }
        document["countries"] = {"FR": "a"}
    edit_yaml(project_copy / "residency.yaml", three)
    with pytest.raises(ConfigError) as caught:
        load_project(project_copy).deploy_order()
    assert "eu-central-1 -> eu-west-1 -> eu-west-3 -> eu-central-1" in str(caught.value)
