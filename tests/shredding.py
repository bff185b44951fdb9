"""What a copy of stored data opens, given the keys a system still holds: the backup tests of issue 9
(`tests/functions/test_backup_shredding.py` on moto, `tests/e2e/test_backup_copy.py` on the local
runtime) share it.

The attacker model: the copy (tables, streams, queues, DLQs), every Idempotency-Key ever used (so
the idempotency records' outer layer is peeled off), and every key the system holds after the
erasure: each zone's wrapping key, applied to every wrapped subject key still stored anywhere, for
every subject it could belong to."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping

from appx_common.envelope import EnvelopeError, open_for_subject
from appx_common.idempotency import _aead
from appx_common.subject_keys import SubjectKey, reply_field

SEALED = re.compile(r"appxsk1\.[a-z0-9]+\.[0-9]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")
# Queued writes' request ids, also inside JSON-encoded message bodies (escaped quotes).
REQUEST_ID = re.compile(r'\\?"requestId\\?": ?\\?"(r_[a-z0-9]+)')
SENSITIVE_FIELDS = ("email", "name", "phone", "birthDate")


def blob_of(copy: object) -> str:
    return json.dumps(copy, default=repr)


def ciphertexts(blob: str, idempotency_records: Iterable[Mapping], idempotency_keys: Iterable[str]) -> set[str]:
    """Every subject-sealed token in the copy, those inside idempotency records' outer layer included."""
    tokens = set(SEALED.findall(blob))
    for record in idempotency_records:
        if "response" not in record:
            continue
        raw = bytes(getattr(record["response"], "value", record["response"]))
        for key in idempotency_keys:
            try:
                inner = _aead(key, record["id"]).decrypt(raw[:12], raw[12:], record["id"].encode()).decode()
            except Exception:  # noqa: BLE001 - not this record's key
                continue
            tokens |= set(SEALED.findall(inner))
    return tokens


def contexts(blob: str, record_ids: Iterable[str]) -> set[str]:
    """Every field a token of the copy can be bound to: profile fields, idempotent replies, queued writes."""
    return {*SENSITIVE_FIELDS, *(reply_field(i) for i in record_ids), *(f"queued-write:{r}" for r in REQUEST_ID.findall(blob))}


def held_keys(wrapped_keys: Iterable[tuple[str, bytes, int]], unwrap: Callable[[str, str, bytes], bytes],
              subjects: Iterable[str]) -> list[SubjectKey]:
    """Every subject key that can still be produced: each (zone, wrapped, version) stored anywhere,
    unwrapped with the zone's wrapping key for each subject it might belong to."""
    held, subjects = set(), list(subjects)
    for zone, wrapped, version in wrapped_keys:
        for subject in subjects:
            try:
                held.add(SubjectKey(zone, subject, version, unwrap(zone, subject, wrapped)))
            except EnvelopeError:
                continue
    return sorted(held, key=lambda k: (k.zone, k.subject, k.version))


def owners(tokens: Iterable[str], keys: Iterable[SubjectKey], fields: Iterable[str]) -> dict[str, str]:
    """token -> the subject whose key opens it, for every token some key opens."""
    keys, fields = list(keys), list(fields)
    return {token: key.subject for token in tokens for key in keys if any(_opens(token, key, f) for f in fields)}


def opened(tokens: Iterable[str], keys: Iterable[SubjectKey], fields: Iterable[str]) -> dict[str, int]:
    """How many tokens each subject's keys open."""
    return dict(Counter(owners(tokens, keys, fields).values()))


def _opens(token: str, key: SubjectKey, field: str) -> bool:
    try:
        open_for_subject(token, key.material, field, key.zone, key.subject, key.version)
        return True
    except EnvelopeError:
        return False
