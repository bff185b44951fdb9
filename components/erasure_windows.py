"""How long the traces of an erasure must last, derived from the stacks' configuration.

A write of an erased subject can come back as long as a copy of it can be delivered: a queued
message (the queue's retention), the same message in the DLQ (the DLQ keeps the original enqueue
time, so its retention bounds it), one redrive back to the queue (its retention starts again),
a DynamoDB stream record (24 h). A whole table can come back from a point-in-time backup: a
restore to any moment of the recovery period brings back every item erased since, and
``python -m tools.erasure reapply`` finds those subjects through the live tombstones. So the
tombstone must outlive the longest of these windows over every cell and table of the project,
plus a margin for the sweeper's schedule and the time a restore and its re-application take:
``tombstone_seconds``. The functions get it as ``APPX_TOMBSTONE_SECONDS`` (tombstones, erased-author
and erased-post markers); docs/record-of-processing.md prints it.
"""

from __future__ import annotations

from dataclasses import dataclass

from components.config import DEAD_LETTER_RETENTION_SECONDS, Project, cell_config
from components.table_spec import AWS_DEFAULT_PITR_RECOVERY_DAYS
from components.tables import FEED, placements

DAY_SECONDS = 24 * 3600
STREAM_RETENTION_SECONDS = DAY_SECONDS  # DynamoDB Streams keep records 24 hours
MARGIN_SECONDS = DAY_SECONDS
# The erasure pipeline: the sweeper's schedule, when it retries a job, how long it waits for the
# eventually consistent indexes (GSI, replication in the zone), and the alarm on an old job.
SWEEP_MINUTES = 5
RETRY_SECONDS = 60
SETTLE_SECONDS = 60
JOB_BOUND_SECONDS = 3600


@dataclass(frozen=True)
class ErasureWindows:
    queue_retention_seconds: int
    dlq_retention_seconds: int
    # The longest point-in-time recovery period of any table or replica that can hold a
    # subject's items (restricted tables, posts, idempotency records, the feed).
    pitr_recovery_seconds: int

    @property
    def redrive_seconds(self) -> int:
        """A message redriven from the DLQ at the last moment lives one queue retention more."""
        return self.queue_retention_seconds

    @property
    def delivery_seconds(self) -> int:
        """How long after an erasure a copy of one of the subject's writes can still be delivered."""
        return self.dlq_retention_seconds + self.redrive_seconds + STREAM_RETENTION_SECONDS

    @property
    def tombstone_seconds(self) -> int:
        return max(self.delivery_seconds, self.pitr_recovery_seconds) + MARGIN_SECONDS


def pitr_recovery_days(project: Project) -> int:
    """The longest PITR window over the project's tables that hold subjects' items: an owned table
    keeps its cell's ``pitrRecoveryPeriodDays``, a replica AWS's default (Pulumi cannot set it).
    The default is also AWS's maximum, so an operator who later sets a replica's period by hand
    (README, Backups) cannot outrun the tombstones."""
    cells = {s.region: cell_config(project, s).settings.pitr_recovery_period_days
             for s in project.stacks.values() if s.role == "cell"}
    days = list(cells.values()) if FEED.point_in_time_recovery else []  # every cell owns its feed
    for placement in placements(project):
        if placement.spec.point_in_time_recovery:
            days.append(cells[placement.owner])
            if placement.replica_regions:
                days.append(AWS_DEFAULT_PITR_RECOVERY_DAYS)
    return max(days, default=0)


def erasure_windows(project: Project) -> ErasureWindows:
    """The longest windows over every cell (a zone's tombstones are read in all its regions)."""
    retention = max(cell_config(project, s).settings.queue_message_retention_seconds
                    for s in project.stacks.values() if s.role == "cell")
    # Every DLQ keeps SQS's longest retention (components.deferred_write_queue).
    return ErasureWindows(retention, DEAD_LETTER_RETENTION_SECONDS, pitr_recovery_days(project) * DAY_SECONDS)
