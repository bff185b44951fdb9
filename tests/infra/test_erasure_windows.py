"""Erasure tombstones outlive every backup a restore could start from (issue 9), read from what the
shipped stacks register: each function's APPX_TOMBSTONE_SECONDS against each table's and replica's
point-in-time recovery window."""

from __future__ import annotations

from offline.stack_runner import StackRun

# AWS: PointInTimeRecoverySpecification.RecoveryPeriodInDays "If no value is provided, the value
# will default to 35"; a TableReplica has no way to set it (README, Backups).
AWS_DEFAULT_RECOVERY_DAYS = 35
DAY = 86400


def _backup_windows(run: StackRun) -> dict[str, int]:
    windows = {}
    for table in run.of_type("aws:dynamodb/table:Table"):
        pitr = table.props.get("pointInTimeRecovery") or {}
        if pitr.get("enabled"):
            windows[f"{run.stack}:{table.props['name']}"] = int(pitr.get("recoveryPeriodInDays") or AWS_DEFAULT_RECOVERY_DAYS) * DAY
        for replica in table.props.get("replicas") or []:
            if replica.get("pointInTimeRecovery"):
                windows[f"{run.stack}:{table.props['name']}@{replica['regionName']}"] = AWS_DEFAULT_RECOVERY_DAYS * DAY
    for replica in run.of_type("aws:dynamodb/tableReplica:TableReplica"):
        if replica.props.get("pointInTimeRecovery"):
            windows[f"{run.stack}:{replica.name}"] = AWS_DEFAULT_RECOVERY_DAYS * DAY
    return windows


def test_tombstones_outlive_every_backup_of_every_shipped_stack(runs):
    windows = {name: seconds for run in runs.values() for name, seconds in _backup_windows(run).items()}
    lifetimes = {f"{run.stack}:{fn.props['name']}": int(fn.props["environment"]["variables"]["APPX_TOMBSTONE_SECONDS"])
                 for run in runs.values() for fn in run.of_type("aws:lambda/function:Function")
                 if "APPX_TOMBSTONE_SECONDS" in ((fn.props.get("environment") or {}).get("variables") or {})}
    assert any(":appx-restricted-" in name for name in windows) and any("posts" in name for name in windows)
    assert {name.split(":")[1] for name in lifetimes} >= {"appx-api", "appx-worker", "appx-stream"}
    longest = max(windows.values())
    # A zone's tombstones are read in every region: one lifetime everywhere, longer than any backup
    # plus a day for the restore and `tools.erasure reapply` to run.
    assert len(set(lifetimes.values())) == 1, lifetimes
    assert all(seconds >= longest + DAY for seconds in lifetimes.values()), (lifetimes, longest)
