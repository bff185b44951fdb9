"""Bearer sessions: lifetimes, rotation, revocation (docs/token-format.md §4).

A session is one item of the subject's partition in the zone's restricted table, so it never
leaves the zone and erasure removes it with the profile:

    USER#<userId> / SESSION#<sessionId>
        live:    sessionId, hash (SHA-256 hex of the secret), exportKey (random, seals export
                 cursors: appx_common.export), createdAt, createdAtS, lastUsedAtS, expiresAtS,
                 expiration (DynamoDB TTL)
        revoked: sessionId, createdAt, createdAtS, lastUsedAtS, expiresAtS, revokedAtS,
                 revokedReason, expiration    (hash and exportKey are removed at once)

Lifetimes: a session ends ``absolute_seconds`` after it was issued however much it is used, and
``idle_seconds`` after its last use. Use is recorded at most every ``touch_seconds`` (a write
replicated to every region of the zone on every request would cost more than the precision is
worth), so a session may stay usable up to ``touch_seconds`` beyond its idle limit.

Per-user state is bounded: at most ``max_per_user`` sessions hold a secret (opening one more
evicts the least recently used) and at most ``MAX_REVOKED`` revoked records are kept (the
oldest are deleted); every item also carries a TTL, ``REASON_RETENTION_SECONDS`` after the
moment it stopped being usable, until when the API can still say *why* a token is refused.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from botocore.exceptions import ClientError

from appx_common import ids
from appx_common.config import EnvError
from appx_common.export import new_export_key
from appx_common.problems import Problem
from appx_common.store import Store, is_conditional, iso, user_pk

SESSION_PREFIX = "SESSION#"
DAY = 86400
DEFAULT_ABSOLUTE_SECONDS, DEFAULT_IDLE_SECONDS, DEFAULT_MAX_PER_USER = 30 * DAY, 7 * DAY, 10
MAX_REVOKED = 10
REASON_RETENTION_SECONDS = 7 * DAY
# Revocation reasons a refused token reports (problem member "reason").
ROTATED, REVOKED, REVOKED_ALL, EVICTED = "rotated", "revoked", "revoked-all", "evicted"


def challenge(description: str) -> dict:
    # RFC 6750 §3: the error code tells a client that re-authenticating, not retrying, helps.
    return {"WWW-Authenticate": f'Bearer realm="appx", error="invalid_token", error_description="{description}"'}


def unauthorized() -> Problem:
    return Problem(401, "unauthorized", "a valid bearer token is required", {"WWW-Authenticate": 'Bearer realm="appx"'})


def expired(which: str) -> Problem:
    return Problem(401, "token-expired", f"the session passed its {which} lifetime; sign in again", challenge(f"session {which} lifetime passed"), expiry=which)


def revoked(reason: str) -> Problem:
    return Problem(401, "token-revoked", f"the session was revoked ({reason})", challenge("session revoked"), reason=reason)


@dataclass(frozen=True)
class SessionPolicy:
    absolute_seconds: int = DEFAULT_ABSOLUTE_SECONDS
    idle_seconds: int = DEFAULT_IDLE_SECONDS
    max_per_user: int = DEFAULT_MAX_PER_USER

    @property
    def touch_seconds(self) -> int:
        return max(1, min(3600, self.idle_seconds // 24))

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> SessionPolicy:
        def number(name: str, default: int, low: int, high: int) -> int:
            raw = env.get(name)
            if raw in (None, ""):
                return default
            if not raw.isascii() or not raw.isdigit() or not low <= int(raw) <= high:
                raise EnvError(f"{name} must be an integer from {low} to {high}, not {raw!r}")
            return int(raw)

        absolute = number("APPX_SESSION_ABSOLUTE_SECONDS", DEFAULT_ABSOLUTE_SECONDS, 60, 365 * DAY)
        idle = number("APPX_SESSION_IDLE_SECONDS", DEFAULT_IDLE_SECONDS, 60, 365 * DAY)
        if idle > absolute:
            raise EnvError(f"APPX_SESSION_IDLE_SECONDS ({idle}) must not exceed APPX_SESSION_ABSOLUTE_SECONDS ({absolute})")
        return cls(absolute, idle, number("APPX_SESSIONS_PER_USER", DEFAULT_MAX_PER_USER, 1, 50))


def session_key(user_id: str, session_id: str) -> dict:
    return {"pk": user_pk(user_id), "sk": SESSION_PREFIX + session_id}


def is_session(item: Mapping) -> bool:
    return str(item.get("sk", "")).startswith(SESSION_PREFIX)


def is_live(item: Mapping) -> bool:
    return "hash" in item


class Sessions:
    def __init__(self, store: Store, policy: SessionPolicy, clock: Callable[[], float] = time.time):
        self.store, self.policy, self.clock = store, policy, clock

    # ---- lifetimes ----------------------------------------------------------------------
    def idle_deadline(self, item: Mapping) -> int:
        return int(item["lastUsedAtS"]) + self.policy.idle_seconds

    def usable_until(self, item: Mapping) -> int:
        return min(int(item["expiresAtS"]), self.idle_deadline(item))

    def new(self, user_id: str, now: float) -> tuple[str, dict]:
        """A fresh session: (token for the client, item to store without its pk)."""
        session_id = ids.new_session_id()
        token, secret_hash = ids.new_bearer(user_id, session_id)
        t = int(now)
        item = {"sk": SESSION_PREFIX + session_id, "sessionId": session_id, "hash": secret_hash, "exportKey": new_export_key(), "createdAt": iso(now),
                "createdAtS": t, "lastUsedAtS": t, "expiresAtS": t + self.policy.absolute_seconds}
        item["expiration"] = self.usable_until(item) + REASON_RETENTION_SECONDS
        return token, item

    # ---- authentication -----------------------------------------------------------------
    def check(self, bearer: ids.Bearer, items: list[dict]) -> dict:
        """The live session the token belongs to, or the 401 that says why not."""
        item = next((i for i in items if i.get("sk") == SESSION_PREFIX + bearer.session_id), None)
        if item is None:
            raise unauthorized()
        if not is_live(item):
            raise revoked(str(item.get("revokedReason", REVOKED)))
        if not hmac.compare_digest(str(item["hash"]).encode(), ids.token_hash(bearer.secret).encode()):
            raise unauthorized()
        now = self.clock()
        if now >= int(item["expiresAtS"]):
            raise expired("absolute")
        if now >= self.idle_deadline(item):
            raise expired("idle")
        return item

    def touch(self, zone: str, user_id: str, item: dict) -> bool:
        """Record the use of a live session (at most every ``touch_seconds``). Returns whether
        it wrote; a session revoked meanwhile is not brought back."""
        now = int(self.clock())
        if now - int(item["lastUsedAtS"]) < self.policy.touch_seconds:
            return False
        ttl = min(int(item["expiresAtS"]), now + self.policy.idle_seconds) + REASON_RETENTION_SECONDS
        try:
            self.store.restricted(zone).update_item(
                Key=session_key(user_id, item["sessionId"]),
                UpdateExpression="SET lastUsedAtS = :now, expiration = :ttl",
                ConditionExpression="attribute_exists(#h) AND lastUsedAtS < :now",
                ExpressionAttributeNames={"#h": "hash"},
                ExpressionAttributeValues={":now": now, ":ttl": ttl},
            )
        except ClientError as exc:
            if not is_conditional(exc):
                raise
            return False
        item["lastUsedAtS"] = now
        return True

    # ---- changes (one transaction each, so nothing is half-done) ---------------------------
    def open(self, zone: str, user_id: str, current: dict, items: list[dict]) -> tuple[str, dict]:
        """One more session for the user (another device). The least recently used sessions
        beyond the cap are evicted in the same transaction (never the caller's own)."""
        token, item = self.new(user_id, self.clock())
        live = [i for i in items if is_session(i) and is_live(i)]
        others = sorted((i for i in live if i["sessionId"] != current["sessionId"]), key=lambda i: (int(i["lastUsedAtS"]), int(i["createdAtS"])))
        excess = len(live) + 1 - self.policy.max_per_user
        evict = {i["sessionId"]: EVICTED for i in others[:max(0, excess)]}
        self._transact(zone, user_id, items, put=item, revoke=evict)
        return token, item

    def rotate(self, zone: str, user_id: str, current: dict, items: list[dict]) -> tuple[str, dict]:
        """A new session replaces the presented one, which is revoked in the same transaction."""
        token, item = self.new(user_id, self.clock())
        self._transact(zone, user_id, items, put=item, revoke={current["sessionId"]: ROTATED})
        return token, item

    def revoke(self, zone: str, user_id: str, session_ids: list[str], reason: str, items: list[dict]) -> None:
        self._transact(zone, user_id, items, revoke={sid: reason for sid in session_ids})

    def _transact(self, zone: str, user_id: str, items: list[dict], put: dict | None = None, revoke: Mapping[str, str] = {}) -> None:
        table = self.store.cfg.restricted_table(zone)
        now = int(self.clock())
        actions: list[dict] = []
        if put is not None:
            actions.append({"Put": {"TableName": table, "Item": {"pk": user_pk(user_id), **put}, "ConditionExpression": "attribute_not_exists(pk)"}})
        for session_id, reason in revoke.items():
            actions.append({"Update": {
                "TableName": table, "Key": session_key(user_id, session_id),
                # Only a live session is revoked: a concurrent revocation keeps its own reason.
                "ConditionExpression": "attribute_exists(#h)",
                "UpdateExpression": "SET revokedAtS = :now, revokedReason = :why, expiration = :ttl REMOVE #h, exportKey",
                "ExpressionAttributeNames": {"#h": "hash"},
                "ExpressionAttributeValues": {":now": now, ":why": reason, ":ttl": now + REASON_RETENTION_SECONDS},
            }})
        # Bounded history: keep the newest MAX_REVOKED revoked records, counting those made now.
        old = sorted((i for i in items if is_session(i) and not is_live(i)), key=lambda i: int(i.get("revokedAtS", 0)), reverse=True)
        for stale in old[max(0, MAX_REVOKED - len(revoke)):]:
            actions.append({"Delete": {"TableName": table, "Key": {"pk": stale["pk"], "sk": stale["sk"]}}})
        if not actions:
            return
        try:
            self.store.ddb.meta.client.transact_write_items(TransactItems=actions)
        except ClientError as exc:
            if is_conditional(exc):
                raise Problem(409, "session-changed", "the sessions changed meanwhile; list them and retry") from None
            raise

    # ---- what the owner sees --------------------------------------------------------------
    def describe(self, item: Mapping, current: str | None) -> dict:
        """Metadata only: never the secret or anything derived from it."""
        now = self.clock()
        doc = {
            "sessionId": item["sessionId"],
            "createdAt": item["createdAt"],
            "lastUsedAt": iso(int(item["lastUsedAtS"])),
            "expiresAt": iso(int(item["expiresAtS"])),
            "current": item["sessionId"] == current,
        }
        if is_live(item):
            doc["idleExpiresAt"] = iso(self.idle_deadline(item))
            doc["status"] = "active" if now < self.usable_until(item) else "expired"
        else:
            doc.update(status="revoked", revokedAt=iso(int(item["revokedAtS"])), revokedReason=item["revokedReason"])
        return doc

    def listing(self, items: list[dict], current: str | None) -> list[dict]:
        sessions = sorted((i for i in items if is_session(i)), key=lambda i: (int(i["createdAtS"]), i["sessionId"]))
        return [self.describe(i, current) for i in sessions]
