"""How long the traces of an erasure must last, derived from the stacks' configuration.

A write of an erased subject can come back as long as a copy of it can be delivered: a queued
message (the queue's retention), the same message in the DLQ (the DLQ keeps the original enqueue
time, so its retention bounds it), one redrive back to the queue (its retention starts again),
a DynamoDB stream record (24 h). The tombstone must outlive all of them, plus a margin for the
sweeper's schedule: ``tombstone_seconds`` is that sum over the worst cell of the project. The
functions get it as ``APPX_TOMBSTONE_SECONDS``; docs/record-of-processing.md prints it.
"""

from __future__ import annotations

from dataclasses import dataclass

from components.config import DEAD_LETTER_RETENTION_SECONDS, Project, cell_config

STREAM_RETENTION_SECONDS = 24 * 3600  # DynamoDB Streams keep records 24 hours
MARGIN_SECONDS = 24 * 3600
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

    @property
    def redrive_seconds(self) -> int:
        """A message redriven from the DLQ at the last moment lives one queue retention more."""
        return self.queue_retention_seconds

    @property
    def tombstone_seconds(self) -> int:
        return self.dlq_retention_seconds + self.redrive_seconds + STREAM_RETENTION_SECONDS + MARGIN_SECONDS


def erasure_windows(project: Project) -> ErasureWindows:
    """The longest windows over every cell (a zone's tombstones are read in all its regions)."""
    retention = max(cell_config(project, s).settings.queue_message_retention_seconds
                    for s in project.stacks.values() if s.role == "cell")
    # Every DLQ keeps SQS's longest retention (components.deferred_write_queue).
    return ErasureWindows(retention, DEAD_LETTER_RETENTION_SECONDS)
