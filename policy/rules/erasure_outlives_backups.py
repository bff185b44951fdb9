"""Erasure tombstones outlive every point-in-time backup of the stack's tables (GDPR Art. 17).

A restore to any moment of a table's recovery period brings back the subjects erased since; the
live tombstones are how `python -m tools.erasure reapply` finds them again (README, "Restoring a
backup"). A function that writes tombstones for a shorter time (`APPX_TOMBSTONE_SECONDS`) than a
table or replica of its stack keeps backups, plus a day for the restore itself, lets an erased
subject come back. A replica whose recovery period is not set keeps AWS's default (35 days). A
global table's replicas are registered by other stacks (components/tables.py placements), so an
owner table is known by its layout to have them: a stack's tombstones replicate with the table.
"""

from functools import lru_cache

from components.config import load_project
from components.table_spec import AWS_DEFAULT_PITR_RECOVERY_DAYS
from components.tables import placements
from policy.rules._common import (FUNCTION, REPO_ROOT, TABLE, TABLE_REPLICA, EnforcementLevel, Severity, Unknown, as_list, read,
                                  stack_rule, truthy, undecidable)

NAME = "erasure-outlives-backups"
DAY_SECONDS = 86400
TOMBSTONE_VARIABLE = "APPX_TOMBSTONE_SECONDS"


@lru_cache(maxsize=1)
def _replicated_tables() -> frozenset[str]:
    """Tables of the project that other stacks replicate (each replica with its own backups)."""
    return frozenset(p.spec.name for p in placements(load_project(REPO_ROOT)) if p.replica_regions and p.spec.point_in_time_recovery)


def _backup_days(resource):
    """The PITR windows (days) of this table or replica, its inline replicas and, for a global
    table's owner, the replicas other stacks add."""
    props = resource.props or {}
    if resource.resource_type == TABLE_REPLICA:
        return [AWS_DEFAULT_PITR_RECOVERY_DAYS] if truthy(props.get("pointInTimeRecovery")) else []
    pitr = props.get("pointInTimeRecovery") or {}
    period = read(pitr, "recoveryPeriodInDays")  # unknown or unset: assume the longest, AWS's default
    own = int(period) if isinstance(period, (int, float)) and period else AWS_DEFAULT_PITR_RECOVERY_DAYS
    days = [own] if truthy(read(pitr, "enabled")) else []
    inline = [AWS_DEFAULT_PITR_RECOVERY_DAYS for r in as_list(props.get("replicas")) if truthy(read(r, "pointInTimeRecovery"))]
    elsewhere = [AWS_DEFAULT_PITR_RECOVERY_DAYS] if days and props.get("name") in _replicated_tables() else []
    return days + inline + elsewhere


def _check(args):
    windows = [(r, d) for r in args.resources if r.resource_type in (TABLE, TABLE_REPLICA) for d in _backup_days(r)]
    if not windows:
        return
    longest, days = max(windows, key=lambda w: w[1])
    needed = (days + 1) * DAY_SECONDS
    for fn in args.resources:
        if fn.resource_type != FUNCTION:
            continue
        value = read(fn.props or {}, "environment", "variables", TOMBSTONE_VARIABLE)
        if value is None:
            continue  # writes no tombstones
        if isinstance(value, Unknown):
            yield fn, undecidable(value, NAME)
        elif not str(value).isdigit() or int(value) < needed:
            yield fn, (f"keeps erasure tombstones {TOMBSTONE_VARIABLE}={value} s, not longer than "
                       f"'{(longest.props or {}).get('name') or longest.name}' or a replica of it keeps backups ({days} days) plus a day: a restore "
                       f"would bring erased subjects back unnoticed. Fix: set {TOMBSTONE_VARIABLE} to at least {needed} "
                       "(components/erasure_windows.py derives it), or shorten the recovery period")


POLICY = stack_rule(
    name=NAME,
    description="Functions keep erasure tombstones longer than any table or replica of their stack keeps PITR backups.",
    article="Art. 17", title="Right to erasure ('right to be forgotten')",
    severity=Severity.HIGH, level=EnforcementLevel.MANDATORY,
    remediation_steps="Derive APPX_TOMBSTONE_SECONDS from components/erasure_windows.py (longest PITR window, replicas at "
                      "AWS's 35-day default, plus a day), or shorten pointInTimeRecovery.recoveryPeriodInDays.",
    check=_check,
)
