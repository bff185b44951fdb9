"""Defect 2: after `pulumi refresh`, an owner table's state lists the replicas other cells added
with `TableReplica`; the next `pulumi up` must not plan to remove them."""

from __future__ import annotations

import pytest

from offline.stack_runner import planned_diff, run_stack
from tests.infra.test_fourth_cell import NEW, add_fourth_cell

TABLE = "aws:dynamodb/table:Table"
REPLICA = "aws:dynamodb/tableReplica:TableReplica"


def replicas_added_by_other_cells(cells) -> dict[tuple[str, str], set[str]]:
    """(owner region, table) -> regions, read from the TableReplica resources the cells register."""
    added: dict[tuple[str, str], set[str]] = {}
    for region, run in cells.items():
        for replica in run.of_type(REPLICA):
            owner_arn = replica.props["globalTableArn"]  # arn:aws:dynamodb:<owner>:<acct>:table/<name>
            added.setdefault((owner_arn.split(":")[3], owner_arn.rsplit("/", 1)[1]), set()).add(region)
    return added


def test_refreshed_owner_tables_list_exactly_the_replicas_the_other_cells_add(cell_runs):
    added = replicas_added_by_other_cells(cell_runs)
    refreshed = {}
    for region, run in cell_runs.items():
        for table in run.of_type(TABLE):
            regions = {r["regionName"] for r in table.refreshed.get("replicas", [])}
            if regions:
                refreshed[(region, table.props["name"])] = regions
    assert refreshed == added
    assert ("eu-west-1", "appx-posts") in refreshed and ("eu-central-1", "appx-restricted-de") not in refreshed


def test_after_a_refresh_no_cell_plans_any_change(cell_runs):
    for region, run in cell_runs.items():
        assert run.planned_diffs == {}, region


def test_without_ignore_changes_the_owner_would_remove_the_other_regions_replicas(cell_runs):
    owners = [t for run in cell_runs.values() for t in run.of_type(TABLE) if t.refreshed.get("replicas")]
    assert {t.props["name"] for t in owners} == {"appx-posts", "appx-idempotency", "appx-restricted-eu"}
    for table in owners:
        assert table.ignore_changes == ["replicas"], table.name
        assert planned_diff(table, ignore_changes=[]) == ["replicas"], table.name
    # Tables nobody replicates keep the default: a change made outside Pulumi is reverted.
    for run in cell_runs.values():
        for table in run.of_type(TABLE):
            if not table.refreshed.get("replicas"):
                assert table.ignore_changes == [], table.name


def test_planned_diff_reports_a_changed_input_and_ignores_computed_outputs(cell_runs):
    run = cell_runs["eu-west-1"]
    queue = next(q for q in run.of_type("aws:sqs/queue:Queue") if q.props["name"] == "appx-deferred-writes")
    assert "url" in queue.refreshed and "url" not in queue.props  # computed: never a diff
    assert planned_diff(queue) == []
    queue.refreshed = {**queue.refreshed, "messageRetentionSeconds": 60}  # changed by hand in the console
    try:
        assert planned_diff(queue) == ["messageRetentionSeconds"]
        assert planned_diff(queue, ignore_changes=["messageRetentionSeconds"]) == []
    finally:
        queue.refreshed = dict(queue.outputs)


def test_a_fourth_cell_appears_in_the_owners_refreshed_replicas(project_copy):
    add_fourth_cell(project_copy)
    home = run_stack("eu-west-1", project_copy, mode="refresh")
    posts = next(t for t in home.of_type(TABLE) if t.props["name"] == "appx-posts")
    assert NEW in {r["regionName"] for r in posts.refreshed["replicas"]}
    assert home.planned_diffs == {}


def test_update_mode_has_no_refreshed_state():
    run = run_stack("eu-west-3")
    table = run.of_type(TABLE)[0]
    assert table.refreshed is None and run.planned_diffs == {}
    with pytest.raises(ValueError, match="mode='refresh'"):
        planned_diff(table)
    with pytest.raises(ValueError, match="mode must be one of"):
        run_stack("eu-west-3", mode="destroy")
