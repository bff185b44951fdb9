"""Idempotency-Key handling on ``appx-idempotency`` (key ``id``, TTL ``expiration``).

Why not Powertools' idempotency utility: it keys records by a hash of the payload and stores the
response in clear. Here the edge re-encrypts restricted fields with a fresh data key on every
attempt (so a retried payload never hashes the same), and the sign-up response carries a bearer
token. So records are keyed by the Idempotency-Key header (scoped by route and subject). What the
caller stores never holds a readable reply body (the API seals it under the subject's key, and a
sign-up's reply lives only in the zone's restricted table); as a second layer the stored record
is AES-256-GCM encrypted under a key derived (HKDF-SHA256) from the Idempotency-Key. A record
whose request failed is deleted (a rejected request stores nothing).

Accepted keys (docs/api/operations.md): 22-128 characters of the base64url alphabet
``A-Z a-z 0-9 - _`` with at least 8 distinct characters, e.g. a UUID or 16+ random bytes in
base64url. Shorter or low-variety keys ("signup-4711", "aaaa…") are refused with a 400.

Each record carries ``subject``, the keyed reference of the user it belongs to
(``subjects.SubjectRefs``), and the table's GSI ``bySubject`` finds them at erasure time: the
user's profile holds no list of them, so it does not grow with writes. Records expire (TTL) after
a day.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass

from botocore.exceptions import ClientError
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from appx_common.problems import Problem

KEY_PATTERN = re.compile(r"^[A-Za-z0-9_-]{22,128}$")
MIN_DISTINCT_CHARS = 8
COMPLETED, IN_PROGRESS = "COMPLETED", "INPROGRESS"


@dataclass
class Claim:
    record_id: str
    key: str
    expiration: int = 0
    replay: dict | None = None
    subject: str | None = None  # the record's subject reference (for a replay: of the first request)


def check_key(key: str) -> None:
    if not KEY_PATTERN.match(key):
        raise Problem(400, "bad-idempotency-key", "Idempotency-Key must be 22-128 characters of A-Z a-z 0-9 - _ (e.g. a UUID)", reason="format")
    if len(set(key)) < MIN_DISTINCT_CHARS:
        raise Problem(400, "bad-idempotency-key", f"Idempotency-Key must contain at least {MIN_DISTINCT_CHARS} distinct characters (use a UUID or random bytes)", reason="too-predictable")


def record_id(route: str, scope: str, key: str) -> str:
    return "idem#" + hashlib.sha256(f"{route}\n{scope}\n{key}".encode()).hexdigest()


def _aead(key: str, rid: str) -> AESGCM:
    return AESGCM(HKDF(algorithm=hashes.SHA256(), length=32, salt=rid.encode(), info=b"appx-idempotency-v1").derive(key.encode()))


class Idempotency:
    def __init__(self, table, clock: Callable[[], float] = time.time, ttl_seconds: int = 86400, in_progress_seconds: int = 30):
        self.table, self.clock, self.ttl, self.in_progress = table, clock, ttl_seconds, in_progress_seconds

    def claim(self, route: str, scope: str, key: str, fingerprint: str, subject: str) -> Claim:
        check_key(key)
        rid = record_id(route, scope, key)
        existing = self._claim_or_read(rid, fingerprint, subject)
        if existing == {}:
            # The record that blocked us was released (its request failed) before we read it:
            # claim again rather than report the key as reused.
            existing = self._claim_or_read(rid, fingerprint, subject)
        if existing is None:
            return Claim(rid, key, int(self.clock()) + self.ttl, subject=subject)
        if existing.get("fingerprint") != fingerprint:
            raise Problem(422, "idempotency-key-reused", "this Idempotency-Key was used with a different request")
        if existing.get("status") != COMPLETED:
            raise Problem(409, "request-in-progress", "a request with this Idempotency-Key is still in progress", {"Retry-After": "1"})
        try:
            blob = bytes(existing["response"])
            response = json.loads(_aead(key, rid).decrypt(blob[:12], blob[12:], rid.encode()))
        except (KeyError, InvalidTag, ValueError):
            raise Problem(409, "idempotency-record-unreadable", "stored response cannot be replayed") from None
        return Claim(rid, key, int(existing.get("expiration", 0)), replay=response, subject=existing.get("subject"))

    def _claim_or_read(self, rid: str, fingerprint: str, subject: str) -> dict | None:
        """None when the record is now ours; otherwise the record in the way ({} if it vanished)."""
        now = int(self.clock())
        try:
            self.table.put_item(
                Item={"id": rid, "subject": subject, "status": IN_PROGRESS, "fingerprint": fingerprint,
                      "expiration": now + self.ttl, "lockedUntil": now + self.in_progress},
                ConditionExpression="attribute_not_exists(id) OR expiration < :now OR (#s = :ip AND lockedUntil < :now)",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={":now": now, ":ip": IN_PROGRESS},
            )
            return None
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise
        return self.table.get_item(Key={"id": rid}, ConsistentRead=True).get("Item") or {}

    def complete(self, claim: Claim, response: dict) -> None:
        nonce = os.urandom(12)
        blob = nonce + _aead(claim.key, claim.record_id).encrypt(nonce, json.dumps(response).encode(), claim.record_id.encode())
        self.table.update_item(
            Key={"id": claim.record_id},
            UpdateExpression="SET #s = :c, #r = :r REMOVE lockedUntil",
            ExpressionAttributeNames={"#s": "status", "#r": "response"},
            ExpressionAttributeValues={":c": COMPLETED, ":r": blob},
        )

    def release(self, claim: Claim) -> None:
        self.table.delete_item(Key={"id": claim.record_id})
