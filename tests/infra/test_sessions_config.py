"""What sessions and CORS need from the cells: TTL on the restricted tables (sessions end by
themselves), and the cells' `corsOrigins` reaching the API and the edge function, validated
(and the same in every cell: one distribution answers for all of them)."""

from __future__ import annotations

import json

import pytest

from offline.stack_runner import run_stack
from tests.infra.test_cells import FUNCTION, TABLE
from tests.infra.test_config_errors import edit_yaml, expect_error


def test_restricted_tables_expire_session_records(cell_runs):
    restricted = [t for run in cell_runs.values() for t in run.of_type(TABLE) if t.props["name"].startswith("appx-restricted-")]
    assert restricted
    for table in restricted:
        assert table.props["ttl"] == {"attributeName": "expiration", "enabled": True}, table.props["name"]


def api_env(run) -> dict:
    api = next(f for f in run.of_type(FUNCTION) if f.props["name"].startswith("appx-api"))
    return api.props["environment"]["variables"]


def test_cors_origins_reach_the_api(project_copy):
    edit_yaml(project_copy / "Pulumi.eu-west-3.yaml", lambda d: d["config"]["appx:cell"].__setitem__("corsOrigins", ["https://app.example.eu", "https://admin.example.eu:8443"]))
    env = api_env(run_stack("eu-west-3", project_copy))
    assert env["APPX_CORS_ORIGINS"] == "https://app.example.eu,https://admin.example.eu:8443"


def test_no_cors_origins_by_default(cell_runs):
    for run in cell_runs.values():
        assert "APPX_CORS_ORIGINS" not in api_env(run)


@pytest.mark.parametrize("origins,key", [(["https://app.example.eu/path"], "appx:cell.corsOrigins[0]"), (["*", "https://a.example.eu"], "appx:cell.corsOrigins[0]"),
                                         ("https://app.example.eu", "appx:cell.corsOrigins"), (["http://app.example.eu"], "appx:cell.corsOrigins[0]")])
def test_bad_cors_origins_name_the_file_and_key(project_copy, origins, key):
    edit_yaml(project_copy / "Pulumi.eu-west-3.yaml", lambda d: d["config"]["appx:cell"].__setitem__("corsOrigins", origins))
    expect_error(project_copy, "eu-west-3", "Pulumi.eu-west-3.yaml", key, "https://host[:port]")


def _edge_config(run) -> dict:
    function = next(f for f in run.of_type(FUNCTION) if "code" in f.props and "config.json" in f.props["code"].get("assets", {}))
    return json.loads(function.props["code"]["assets"]["config.json"]["text"])


def _set_origins(project_copy, origins_by_cell) -> None:
    for cell, origins in origins_by_cell.items():
        edit_yaml(project_copy / f"Pulumi.{cell}.yaml", lambda d, o=origins: d["config"]["appx:cell"].__setitem__("corsOrigins", o))


def test_the_edge_function_grants_the_cells_origins_on_its_own_responses(project_copy):
    origins = ["https://app.example.eu", "https://admin.example.eu:8443"]
    _set_origins(project_copy, {cell: origins for cell in ("eu-west-1", "eu-central-1", "eu-west-3")})
    assert _edge_config(run_stack("global", project_copy))["corsOrigins"] == origins


def test_no_origins_no_grant_at_the_edge(global_run):
    assert _edge_config(global_run)["corsOrigins"] == []


def test_cells_that_disagree_on_origins_name_the_file_and_the_one_they_differ_from(project_copy):
    _set_origins(project_copy, {"eu-west-1": ["https://app.example.eu"], "eu-central-1": ["https://app.example.eu"],
                                "eu-west-3": ["https://other.example.eu"]})
    expect_error(project_copy, "global", "Pulumi.eu-west-3.yaml", "appx:cell.corsOrigins", "Pulumi.eu-central-1.yaml",
                 "https://app.example.eu", "every cell stack must list the same origins")
