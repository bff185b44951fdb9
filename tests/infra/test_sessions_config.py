"""What sessions and CORS need from the cells: TTL on the restricted tables (sessions end by
themselves), and the cell's `corsOrigins` reaching the API, validated."""

from __future__ import annotations

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
