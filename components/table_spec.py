"""What a DynamoDB table of Application X is: its name, data class and key layout. Import-free (no
Pulumi), so the policy pack derives a replica's class and zone from the same layouts the program
builds (components/tables.py)."""

from __future__ import annotations

from dataclasses import dataclass, field

# DynamoDB keeps point-in-time backups this many days when a table's recovery period is not set
# (PointInTimeRecoverySpecification.RecoveryPeriodInDays: 1-35, default 35). A `TableReplica`
# cannot set it through Pulumi (README, Backups), so every replica starts with it.
AWS_DEFAULT_PITR_RECOVERY_DAYS = 35


@dataclass(frozen=True)
class TableSpec:
    name: str
    data_class: str  # restricted | personal | public | key-material
    hash_key: str
    range_key: str | None = None
    # (index name, hash key, range key) - all string attributes
    indexes: tuple[tuple[str, str, str], ...] = ()
    stream: bool = False
    ttl_attribute: str | None = None
    tags: dict = field(default_factory=dict)
    # False only for key stores: a backup would outlive the destruction of a subject key.
    point_in_time_recovery: bool = True
