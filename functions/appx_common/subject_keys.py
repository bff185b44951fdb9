"""Per-subject keys: crypto-shredding (docs/token-format.md, key hierarchy).

Every data subject has one AES-256 key of its own. It exists in clear only in memory; at rest it
is wrapped by the zone's symmetric KMS key (``KeyProvider.new_subject_key``) and stored as item
``SUBJECT#<subject ref>`` in the zone's key store ``appx-subject-keys-<zone>`` (one table per region of
the zone, copied by the functions, no stream, no PITR: appx_common.key_store). Every restricted
field, queued write, idempotency reply and export of the subject is sealed under it
(``envelope.seal_for_subject``). Erasure replaces every copy by a marker first
(``Store.shred_subject``): from that instant no copy of the subject's ciphertext anywhere
(tables, replicas, PITR, streams, queues, DLQ) can be opened.

Reads are symmetric only: a consistent ``GetItem`` of the wrapped key on every use (so a key
destroyed in this region stops working at once, in every container), then the unwrapped key
from a bounded in-memory cache keyed by the wrapped blob, or one KMS ``Decrypt`` when cold.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from appx_common.envelope import EnvelopeError, open_for_subject, seal_for_subject
from appx_common.key_store import ZoneKeyStore, is_shredded
from appx_common.keys import SUBJECT_KEY_BYTES, KeyProvider

KEY_VERSION = 1


class SubjectKeyShredded(RuntimeError):
    """The subject was erased while its key was being created."""


@dataclass(frozen=True)
class SubjectKey:
    zone: str
    subject: str
    version: int
    material: bytes


class SubjectKeys:
    """Keys through the zone's key store (``Store.key_store``), named by subject reference.
    Thread-safe cache."""

    def __init__(self, store: ZoneKeyStore, ref: Callable[[str], str], provider: KeyProvider,
                 clock: Callable[[], float] = time.monotonic, max_entries: int = 4096, ttl_seconds: float = 300.0):
        """``ref``: the subject reference of a user id (appx_common.subjects.SubjectRefs.ref)."""
        self.store, self.ref, self.provider, self.clock = store, ref, provider, clock
        self.max_entries, self.ttl = max_entries, ttl_seconds
        self._cache: OrderedDict[bytes, tuple[float, bytes]] = OrderedDict()
        self._lock = threading.Lock()
        self.unwrap_calls = 0  # symmetric KMS Decrypt calls (cold cache)
        self.generate_calls = 0  # symmetric KMS GenerateDataKey calls (new subjects)

    def get(self, zone: str, subject: str) -> SubjectKey | None:
        """The subject's key, or None when it never existed or was destroyed (shredded)."""
        item = self.store.read(zone, self.ref(subject))
        if item is None or is_shredded(item):
            return None
        return self._open(zone, subject, int(item["version"]), bytes(item["wrapped"]))

    def create(self, zone: str, subject: str, now: float) -> SubjectKey:
        """The subject's key, created if absent (idempotent: a concurrent creator's key wins).
        Callers must refuse subjects that were erased before calling this."""
        existing = self.get(zone, subject)
        if existing is not None:
            return existing
        with self._lock:
            self.generate_calls += 1
        material, wrapped = self.provider.new_subject_key(zone, subject)
        if not self.store.create(zone, self.ref(subject), {"version": KEY_VERSION, "wrapped": wrapped, "createdAt": int(now)}):
            raced = self.get(zone, subject)
            if raced is None:  # created and destroyed in between: the subject is gone
                raise SubjectKeyShredded("the subject's key was destroyed while it was being created")
            return raced
        self._remember(self._ref(zone, subject, KEY_VERSION, wrapped), material)
        return SubjectKey(zone, subject, KEY_VERSION, material)

    # ---- cache -------------------------------------------------------------------------------
    @staticmethod
    def _ref(zone: str, subject: str, version: int, wrapped: bytes) -> bytes:
        return hashlib.sha256(f"{zone}\0{subject}\0{version}\0".encode() + wrapped).digest()

    def _open(self, zone: str, subject: str, version: int, wrapped: bytes) -> SubjectKey:
        ref = self._ref(zone, subject, version, wrapped)
        now = self.clock()
        with self._lock:
            hit = self._cache.get(ref)
            if hit and hit[0] > now:
                self._cache.move_to_end(ref)
                return SubjectKey(zone, subject, version, hit[1])
            self.unwrap_calls += 1
        material = self.provider.open_subject_key(zone, subject, wrapped)
        if len(material) != SUBJECT_KEY_BYTES:
            raise ValueError("subject key of the wrong size")
        self._remember(ref, material)
        return SubjectKey(zone, subject, version, material)

    def _remember(self, ref: bytes, material: bytes) -> None:
        with self._lock:
            self._cache[ref] = (self.clock() + self.ttl, material)
            self._cache.move_to_end(ref)
            while len(self._cache) > self.max_entries:
                self._cache.popitem(last=False)


# ---- what is sealed under a subject key besides profile fields -------------------------------------
def reply_field(record_id: str) -> str:
    """AAD field name of an idempotent reply: bound to its record, so replies cannot be swapped."""
    return f"idempotency-reply:{record_id}"


def seal_queued(key: SubjectKey, op: dict) -> dict:
    """A queued write as it travels through SQS (and the DLQ): only routing ids in clear, the
    operation sealed under the subject key and bound to its request id."""
    field = f"queued-write:{op['requestId']}"
    return {"op": op["op"], "requestId": op["requestId"], "zone": key.zone, "userId": key.subject,
            "sealed": seal_for_subject(key.material, field, key.zone, key.subject, key.version, op)}


def open_queued(message: dict, key: SubjectKey) -> dict:
    field = f"queued-write:{message['requestId']}"
    op = open_for_subject(message["sealed"], key.material, field, key.zone, key.subject, key.version)
    if not isinstance(op, dict) or op.get("zone") != key.zone or op.get("userId") != key.subject or op.get("op") != message["op"]:
        raise EnvelopeError("queued write does not match its envelope")
    return op
