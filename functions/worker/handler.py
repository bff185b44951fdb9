"""Deferred-writes worker (SQS batch, ReportBatchItemFailures) and erasure sweeper (schedule).

Applies the operations the API queued while its circuit breaker was open or the store failed.
Every operation is idempotent (conditional writes keyed by the ids the API minted), so a
message delivered twice is applied once. A message whose subject was erased is dropped and
counted (``AppX/ErasedSubjectWritesDropped``), never applied: a subject's writes arrive sealed
under its subject key (``subject_keys.seal_queued``), which erasure destroys first, and the store
checks the tombstone in the same transaction as the write. A failing message is reported in
``batchItemFailures`` and retried; after the queue's ``maxReceiveCount`` SQS moves it to the DLQ
(see docs/api/operations.md for the redrive command).

A scheduled event (EventBridge, ``{"appx": "erasure-sweep"}``) runs the erasure sweeper
(appx_common.erasure): every due erasure job of the zones served here, then this region's feed
entries of erased posts; it emits ``ErasureJobsPending`` and ``ErasureJobOldestAgeSeconds``,
which the cell's alarm watches.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Mapping
from typing import Any

from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from appx_common import aws
from appx_common.config import RegionConfig
from appx_common.entry import expose, lazy_handler
from appx_common.envelope import EnvelopeError
from appx_common.erasure import ErasureJobs
from appx_common.keys import KeyUnavailable, key_provider_from_spec
from appx_common.logs import AppLogger
from appx_common.store import Conflict, PermanentError, Store, SubjectErased
from appx_common.subject_keys import SubjectKeys, open_queued
from appx_common.subjects import subject_refs_from_spec

SWEEP_EVENT = {"appx": "erasure-sweep"}


class WorkerApp:
    def __init__(self, env: Mapping[str, str], **overrides: Any):
        self.cfg = RegionConfig.from_env(env, "appx-worker")
        self.clock = overrides.get("clock", time.time)
        kms = overrides.get("kms")
        refs = subject_refs_from_spec(self.cfg.key_provider, self.cfg.zones, lambda: kms or aws.client("kms", self.cfg))
        self.store = Store(self.cfg, overrides.get("dynamodb") or aws.resource("dynamodb", self.cfg), refs, self.clock,
                           overrides.get("zone_dynamodb"))
        provider = overrides.get("key_provider") or key_provider_from_spec(self.cfg.key_provider, self.cfg.zones, lambda: kms or aws.client("kms", self.cfg))
        self.subject_keys = SubjectKeys(self.store.key_store, self.store.refs.ref, provider, clock=self.clock)
        self.jobs = ErasureJobs(self.store)
        self.log = AppLogger(self.cfg.service, self.cfg.region)
        self.metrics = EphemeralMetrics(namespace="AppX", service=self.cfg.service)
        self.applied = self.dropped = 0

    def unseal(self, op: dict, message_id: str) -> dict | None:
        """The queued operation, or None when its subject was erased (the key is gone)."""
        if op.get("op") == "eraseUser":
            return op
        if op.get("zone") not in self.cfg.zones or not isinstance(op.get("sealed"), str):
            raise PermanentError("queued write is not sealed for a zone served here")
        try:
            key = self.subject_keys.get(op["zone"], op["userId"])
            return None if key is None else open_queued(op, key)
        except KeyUnavailable:
            raise  # transient: SQS delivers it again
        except (EnvelopeError, KeyError, ValueError):
            self.log.error("poison message: sealed write does not open", messageId=message_id)
            raise PermanentError("sealed write does not open") from None

    def record(self, record: SQSRecord) -> None:
        try:
            op = json.loads(record.body)
            if not isinstance(op, dict):
                raise ValueError("not an object")
        except ValueError:
            self.log.error("poison message: not JSON", messageId=record.message_id)
            raise PermanentError("not JSON") from None
        sealed_op = op.get("op")
        op = self.unseal(op, record.message_id)
        try:
            if op is None:  # its subject key was shredded
                raise SubjectErased()
            self.store.apply(op)
        except SubjectErased:
            self.dropped += 1
            self.metrics.add_metric(name="ErasedSubjectWritesDropped", unit=MetricUnit.Count, value=1)
            self.log.warning("queued write for an erased subject dropped", messageId=record.message_id, op=str(sealed_op))
            return
        except (PermanentError, Conflict) as exc:
            self.log.error("poison message", messageId=record.message_id, op=str(op.get("op")), error=exc.__class__.__name__)
            raise
        self.applied += 1
        self.log.info("queued write applied", messageId=record.message_id, op=op["op"], requestId=op.get("requestId"))

    def sweep(self) -> dict:
        now = int(self.clock())
        pending = completed = failed = 0
        oldest = 0
        for zone in self.cfg.zones:
            for job in self.jobs.due(zone):
                try:
                    outcome = self.jobs.run(job)
                except Exception as exc:  # noqa: BLE001 - one job failing must not stop the others
                    failed += 1
                    self.log.error("erasure job attempt failed", job=str(job["sk"])[:12], error=exc.__class__.__name__)
                    continue
                completed += outcome["complete"]
                self.log.info("erasure job attempt", job=str(job["sk"])[:12], complete=outcome["complete"], remaining=outcome["remaining"])
            for job in self.jobs.list(zone):
                pending += 1
                oldest = max(oldest, now - int(job.get("createdAt", now)))
        cleared = self.jobs.clear_erased_feed_entries()
        self.metrics.add_metric(name="ErasureJobsPending", unit=MetricUnit.Count, value=pending)
        self.metrics.add_metric(name="ErasureJobOldestAgeSeconds", unit=MetricUnit.Seconds, value=oldest)
        self.metrics.flush_metrics()
        summary = {"pending": pending, "completed": completed, "failed": failed, "oldestAgeSeconds": oldest, "feedEntriesCleared": cleared}
        self.log.info("erasure sweep", **summary)
        return summary

    def __call__(self, event: dict, context: object = None) -> dict:
        if event.get("appx") == SWEEP_EVENT["appx"]:
            return self.sweep()
        self.dropped = 0
        processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
        out = process_partial_response(event=event, record_handler=self.record, processor=processor, context=context)
        if self.dropped:
            self.metrics.flush_metrics()
        return out


def make_handler(env: Mapping[str, str], **overrides: Any) -> Callable[[dict, object], dict]:
    return expose(WorkerApp(env, **overrides))


handler = lazy_handler(lambda: make_handler(os.environ))
