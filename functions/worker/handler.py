"""Deferred-writes worker (SQS batch, ReportBatchItemFailures).

Applies the operations the API queued while its circuit breaker was open or the store failed.
Every operation is idempotent (conditional writes keyed by the ids the API minted), so a
message delivered twice is applied once. A subject's writes arrive sealed under its subject key
(``subject_keys.seal_queued``): once the subject is erased (key shredded) they can no longer be
opened and are dropped, counted in ``dropped_erased``. A failing message is reported in
``batchItemFailures`` and retried; after the queue's ``maxReceiveCount`` SQS moves it to the
DLQ (see docs/api/operations.md for the redrive command).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Mapping
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from appx_common import aws
from appx_common.config import RegionConfig
from appx_common.entry import expose, lazy_handler
from appx_common.envelope import EnvelopeError
from appx_common.keys import KeyUnavailable, key_provider_from_spec
from appx_common.logs import AppLogger
from appx_common.store import Conflict, PermanentError, Store
from appx_common.subject_keys import SubjectKeys, open_queued


class WorkerApp:
    def __init__(self, env: Mapping[str, str], **overrides: Any):
        self.cfg = RegionConfig.from_env(env, "appx-worker")
        self.clock = overrides.get("clock", time.time)
        self.store = Store(self.cfg, overrides.get("dynamodb") or aws.resource("dynamodb", self.cfg), self.clock)
        provider = overrides.get("key_provider") or key_provider_from_spec(self.cfg.key_provider, self.cfg.zones, lambda: overrides.get("kms") or aws.client("kms", self.cfg))
        self.subject_keys = SubjectKeys(self.store.subject_keys, provider, clock=self.clock)
        self.log = AppLogger(self.cfg.service, self.cfg.region)
        self.applied = 0
        self.dropped_erased = 0

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
        op = self.unseal(op, record.message_id)
        if op is None:
            self.dropped_erased += 1
            self.log.info("queued write of an erased subject dropped", messageId=record.message_id)
            return
        try:
            self.store.apply(op)
        except (PermanentError, Conflict) as exc:
            self.log.error("poison message", messageId=record.message_id, op=str(op.get("op")), error=exc.__class__.__name__)
            raise
        self.applied += 1
        self.log.info("queued write applied", messageId=record.message_id, op=op["op"], requestId=op.get("requestId"))

    def __call__(self, event: dict, context: object = None) -> dict:
        processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
        return process_partial_response(event=event, record_handler=self.record, processor=processor, context=context)


def make_handler(env: Mapping[str, str], **overrides: Any) -> Callable[[dict, object], dict]:
    return expose(WorkerApp(env, **overrides))


handler = lazy_handler(lambda: make_handler(os.environ))
