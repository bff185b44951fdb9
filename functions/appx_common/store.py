"""Table layouts (docs/runtime-contract.md) and the write operations shared by the API (direct
path) and the worker (queued path). Every operation is idempotent: applying the same message
twice has the effect of applying it once.

restricted table ``appx-restricted-<zone>`` (pk, sk; TTL ``expiration``):
    USER#<userId> / PROFILE        userId, zone, authorId, fields{name: appxsk1 token},
                                   locale?, createdAt, updatedAtUs, requestId,
                                   replyRef? (the sign-up's idempotency record id)  (fixed size)
    USER#<userId> / SESSION#<id>   hash, lifetimes, ...        (bearer sessions, hashes only:
                                                               appx_common.sessions; bounded)
    IDEMREPLY#<record id> / REPLY  userId, reply (appxsk1 token), expiration
                                   (a sign-up's reply: it holds a credential, so it stays in the zone)
    ERASED#<ref> / TOMBSTONE       erasedAt, completedAt?, expiration   (ref: subjects.SubjectRefs)
    ERASURE-JOB / <ref>            userId, authorId, zone, region, createdAt, attempts,
                                   lastAttemptAt, remaining            (deleted when verified)
subject keys ``appx-subject-keys-<zone>`` (pk; one table per region of the zone: key_store.py):
                       SUBJECT#<ref>  version, wrapped, createdAt | shredded, expiration
posts ``appx-posts``:  POST#<postId> / POST   postId, authorId, text, createdAt  (GSI byAuthor)
                       ERASED#<sha256(authorId)> / ERASED   expiration  (erased pseudonym)
                       ERASED-POSTS / <erasedAt>#<feed sk>   feedSk, expiration (feed entries to clear)
                       (both markers live as long as tombstones: tools.erasure reapply reads them)
feed ``appx-feed``:    FEED / <createdAt>#<sha256(postId)> postId, text, createdAt     (no author id)
idempotency ``appx-idempotency``: id, subject (ref; GSI bySubject), ... (idempotency.py)
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime, timezone
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from appx_common import aws
from appx_common.aws import THROTTLING_CODES, error_code
from appx_common.config import RegionConfig
from appx_common.key_store import KeyCopy, ZoneKeyStore
from appx_common.subjects import SubjectKeyUnavailable, SubjectRefs

PROFILE = "PROFILE"
REPLY = "REPLY"
TOMBSTONE = "TOMBSTONE"
JOBS_PK = "ERASURE-JOB"
ERASED_POSTS_PK = "ERASED-POSTS"
FEED_PK = "FEED"
FEED_LIMIT_MAX = 100
# Items of a subject's partition that hold a bearer credential: sessions (appx_common.sessions)
# and the legacy TOKEN# items of accounts created before sessions.
CREDENTIAL_PREFIXES = ("SESSION#", "TOKEN#")
MAX_ERASURE_CREDENTIAL_DELETES = 90  # DynamoDB: at most 100 actions per transaction


def _no_subject_ref_key(zone: str) -> bytes:
    raise SubjectKeyUnavailable(f"this store has no subject-reference key (zone {zone})")


class Conflict(Exception):
    """The target already exists and was not created by this request."""


class PermanentError(Exception):
    """A queued operation that can never succeed (goes to the DLQ after maxReceiveCount)."""


class SubjectErased(Exception):
    """The operation's subject was erased: the write is dropped (and counted), never applied."""


def is_transient(exc: BaseException) -> bool:
    if isinstance(exc, BotoCoreError):
        return True
    if isinstance(exc, ClientError):
        code = error_code(exc)
        if code == "TransactionCanceledException":
            reasons = [r.get("Code") for r in exc.response.get("CancellationReasons", [])]
            return not any(r == "ConditionalCheckFailed" for r in reasons)
        return code not in ("ConditionalCheckFailedException", "ValidationException")
    return False


def is_throttling(exc: BaseException) -> bool:
    return isinstance(exc, ClientError) and error_code(exc) in THROTTLING_CODES


def is_conditional(exc: BaseException) -> bool:
    return isinstance(exc, ClientError) and error_code(exc) in ("ConditionalCheckFailedException", "TransactionCanceledException") and not is_transient(exc)


def all_pages(call: Callable[..., dict], **kwargs: Any) -> list[dict]:
    """Every item of a paginated Query or Scan (``call`` is a boto3 Table's ``query``/``scan``)."""
    items: list[dict] = []
    while True:
        page = call(**kwargs)
        items.extend(page.get("Items", []))
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


USER_PREFIX = "USER#"
REPLY_PREFIX = "IDEMREPLY#"


def user_pk(user_id: str) -> str:
    return f"{USER_PREFIX}{user_id}"


def post_key(post_id: str) -> dict:
    return {"pk": f"POST#{post_id}", "sk": "POST"}


def post_item(post: Mapping[str, Any]) -> dict:
    """The posts table's item of a post (postId, authorId, text, createdAt) as the API writes it."""
    return {**post_key(post["postId"]), **post}


def feed_key(created_at: str, post_id: str) -> dict:
    # The sort key carries a hash of the post id, not the id: the erased-post markers that name
    # feed keys (appx_common.erasure) then identify no post.
    return {"pk": FEED_PK, "sk": f"{created_at}#{hashlib.sha256(post_id.encode()).hexdigest()[:32]}"}


def tombstone_key(ref: str) -> dict:
    return {"pk": f"ERASED#{ref}", "sk": TOMBSTONE}


def job_key(ref: str) -> dict:
    return {"pk": JOBS_PK, "sk": ref}


def cancelled_by_condition(exc: ClientError, index: int) -> bool:
    """Whether item ``index`` of a cancelled transaction failed its condition."""
    reasons = exc.response.get("CancellationReasons") or []
    return index < len(reasons) and reasons[index].get("Code") == "ConditionalCheckFailed"


def reply_key(record_id: str) -> dict:
    return {"pk": f"{REPLY_PREFIX}{record_id}", "sk": REPLY}


def restricted_item_user(item: Mapping[str, Any]) -> str | None:
    """The user id an item of a restricted table belongs to (its partition, or a sign-up reply's
    ``userId``); None for the zone's own records (tombstones, erasure jobs)."""
    pk = str(item.get("pk", ""))
    if pk.startswith(USER_PREFIX):
        return pk[len(USER_PREFIX):]
    if pk.startswith(REPLY_PREFIX):
        return item.get("userId")
    return None


def erased_author_key(author_id: str) -> dict:
    # Only a hash of the (already deleted) pseudonym: the marker identifies nobody.
    return {"pk": f"ERASED#{hashlib.sha256(author_id.encode()).hexdigest()}", "sk": "ERASED"}


class Store:
    def __init__(self, cfg: RegionConfig, dynamodb, refs: SubjectRefs | None = None, clock: Callable[[], float] = time.time,
                 zone_dynamodb: Callable[[str], Any] | None = None):
        """``refs`` (subject references: tombstones, erasure jobs) is needed by the write
        operations; tools that only read posts and keep the feed (backfill, stream redrive) go
        without, and a write through such a store fails with SubjectKeyUnavailable.
        ``zone_dynamodb(region)``: DynamoDB in another region of a zone served here, for the key
        store's copies (default: a client with short timeouts, appx_common.aws.ZONE_PEER)."""
        self.cfg, self.ddb, self.clock = cfg, dynamodb, clock
        self.refs = refs if refs is not None else SubjectRefs(_no_subject_ref_key)
        self._tables: dict[str, Any] = {}
        self._zone_dynamodb = zone_dynamodb or (lambda region: aws.resource("dynamodb", replace(cfg, region=region), aws.ZONE_PEER))
        self._peers: dict[str, Any] = {}
        self.key_store = ZoneKeyStore(self._key_copies)

    def table(self, name: str):
        if name not in self._tables:
            self._tables[name] = self.ddb.Table(name)
        return self._tables[name]

    def restricted(self, zone: str):
        return self.table(self.cfg.restricted_table(zone))

    def _key_copies(self, zone: str) -> list[KeyCopy]:
        name = self.cfg.subject_keys_table(zone)
        local, *others = self.cfg.key_store_regions(zone)
        for region in others:
            if region not in self._peers:
                self._peers[region] = self._zone_dynamodb(region)
        return [KeyCopy(local, self.table(name)), *(KeyCopy(r, self._peers[r].Table(name)) for r in others)]

    @property
    def posts(self):
        return self.table(self.cfg.posts_table)

    @property
    def feed(self):
        return self.table(self.cfg.feed_table)

    @property
    def idempotency(self):
        return self.table(self.cfg.idempotency_table)

    # ---- reads -------------------------------------------------------------------------
    def user_items(self, zone: str, user_id: str) -> list[dict]:
        return all_pages(self.restricted(zone).query, KeyConditionExpression="pk = :pk",
                         ExpressionAttributeValues={":pk": user_pk(user_id)}, ConsistentRead=True)

    def get_profile(self, zone: str, user_id: str) -> dict | None:
        return self.restricted(zone).get_item(Key={"pk": user_pk(user_id), "sk": PROFILE}, ConsistentRead=True).get("Item")

    def get_reply(self, zone: str, record_id: str) -> dict | None:
        return self.restricted(zone).get_item(Key=reply_key(record_id), ConsistentRead=True).get("Item")

    def get_post(self, post_id: str) -> dict | None:
        return self.posts.get_item(Key=post_key(post_id)).get("Item")

    def posts_by_author(self, author_id: str) -> list[dict]:
        return all_pages(self.posts.query, IndexName="byAuthor", KeyConditionExpression="authorId = :a",
                         ExpressionAttributeValues={":a": author_id})

    def feed_page(self, limit: int) -> list[dict]:
        page = self.feed.query(
            KeyConditionExpression="pk = :pk", ExpressionAttributeValues={":pk": FEED_PK}, ScanIndexForward=False, Limit=limit
        )
        return page.get("Items", [])

    def tombstoned(self, zone: str, ref: str) -> bool:
        return "Item" in self.restricted(zone).get_item(Key=tombstone_key(ref), ConsistentRead=True)

    # ---- operations (direct and queued) --------------------------------------------------
    def apply(self, op: Mapping[str, Any]) -> None:
        """Apply one operation. Raises SubjectErased when its subject was erased (nothing written)."""
        kind = op.get("op")
        zone = op.get("zone")
        if zone not in self.cfg.zones:
            raise PermanentError(f"zone {zone!r} not served in {self.cfg.region}")
        handler = {
            "createUser": self._create_user,
            "updateProfile": self._update_profile,
            "createPost": self._create_post,
            "eraseUser": self._erase_user,
            # Legacy (profile ``idem`` sets): a message still queued from before is a no-op.
            "addIdempotencyRef": lambda _op: None,
        }.get(kind)
        if handler is None:
            raise PermanentError(f"unknown operation {kind!r}")
        try:
            handler(op)
        except KeyError as exc:
            raise PermanentError(f"operation misses {exc}") from None

    def _create_user(self, op) -> None:
        zone, uid = op["zone"], op["userId"]
        profile = {"pk": user_pk(uid), "sk": PROFILE, **op["profile"], "requestId": op["requestId"]}
        profile.pop("idem", None)  # legacy queued sign-ups carried a reference list
        token = {"pk": user_pk(uid), **op["session"]}  # the first session (appx_common.sessions)
        table = self.cfg.restricted_table(zone)
        puts = [profile, token]
        if op.get("reply"):  # the sign-up's idempotent reply, sealed under the subject key
            reply = op["reply"]
            profile["replyRef"] = reply["recordId"]
            puts.append({**reply_key(reply["recordId"]), "userId": uid, "reply": reply["sealed"], "expiration": int(reply["expiration"])})
        try:
            # The tombstone check and the writes are one transaction: an erasure committed
            # before wins, and one committed after deletes what this wrote.
            self.ddb.meta.client.transact_write_items(
                TransactItems=[
                    {"ConditionCheck": {"TableName": table, "Key": tombstone_key(self.refs.ref(uid)), "ConditionExpression": "attribute_not_exists(pk)"}},
                    *({"Put": {"TableName": table, "Item": item, "ConditionExpression": "attribute_not_exists(pk)"}} for item in puts),
                ]
            )
        except ClientError as exc:
            if not is_conditional(exc):
                raise
            if cancelled_by_condition(exc, 0):
                raise SubjectErased() from None
            existing = self.get_profile(zone, uid)
            if existing and existing.get("requestId") == op["requestId"]:
                return  # already applied
            raise Conflict(uid) from None

    def _update_profile(self, op) -> None:
        zone, uid, at = op["zone"], op["userId"], int(op["atUs"])
        names, values, sets, removes = {}, {":at": at}, ["updatedAtUs = :at"], []
        if op.get("set") or op.get("remove"):
            # DynamoDB rejects expression names that the expression does not use.
            names["#fields"] = "fields"
        for i, (field, value) in enumerate(sorted(op.get("set", {}).items())):
            names[f"#f{i}"] = field
            values[f":v{i}"] = value
            sets.append(f"#fields.#f{i} = :v{i}")
        for j, field in enumerate(sorted(op.get("remove", []))):
            names[f"#r{j}"] = field
            removes.append(f"#fields.#r{j}")
        if "locale" in op:
            names["#loc"] = "locale"
            if op["locale"] is None:
                removes.append("#loc")
            else:
                values[":loc"] = op["locale"]
                sets.append("#loc = :loc")
        expr = "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else "")
        kwargs = {
            "Key": {"pk": user_pk(uid), "sk": PROFILE},
            "UpdateExpression": expr,
            # The erasure deletes the profile in the transaction that writes the tombstone, so
            # "the profile exists" is the atomic "not erased" check.
            "ConditionExpression": "attribute_exists(pk) AND (attribute_not_exists(updatedAtUs) OR updatedAtUs < :at)",
            "ExpressionAttributeValues": values,
        }
        if names:
            kwargs["ExpressionAttributeNames"] = names
        try:
            self.restricted(zone).update_item(**kwargs)
        except ClientError as exc:
            if not is_conditional(exc):
                raise
            if self.tombstoned(zone, self.refs.ref(uid)):
                raise SubjectErased() from None
            # Already applied or superseded by a later change: no-op.

    def _create_post(self, op) -> None:
        zone, uid, post = op["zone"], op["userId"], op["post"]
        item = post_item(post)
        try:
            # One transaction: the author's profile must exist (it is deleted with the
            # tombstone write) when the post is written.
            self.ddb.meta.client.transact_write_items(
                TransactItems=[
                    {"ConditionCheck": {"TableName": self.cfg.restricted_table(zone), "Key": {"pk": user_pk(uid), "sk": PROFILE},
                                        "ConditionExpression": "attribute_exists(pk)"}},
                    {"Put": {"TableName": self.cfg.posts_table, "Item": item, "ConditionExpression": "attribute_not_exists(pk)"}},
                ]
            )
        except ClientError as exc:
            if not is_conditional(exc):
                raise
            if cancelled_by_condition(exc, 0):
                if self.tombstoned(zone, self.refs.ref(uid)):
                    raise SubjectErased() from None
                raise PermanentError("the author has no profile") from None
            # The post exists already: applied before.

    def shred_subject(self, zone: str, ref: str) -> None:
        """Crypto-shredding, the FIRST step of every erasure: every copy of the subject's key (one
        per region of the zone, no stream, no backups) becomes a marker, this region's at once.
        Every copy of the subject's ciphertext anywhere is unreadable from here on. Idempotent."""
        self.key_store.shred(zone, ref, int(self.clock()) + self.cfg.tombstone_seconds)

    def regions_holding_subject_key(self, zone: str, ref: str) -> list[str]:
        return self.key_store.regions_holding_key(zone, ref)

    def _erase_user(self, op) -> None:
        """Begin the erasure: shred the subject's key FIRST (every copy of its data is unreadable
        from here on), then one transaction writes the tombstone and the erasure job and deletes
        the profile and the sessions. Bounded work, whatever the account's age; the job (appx_common.erasure)
        does the rest and is retried until verified."""
        zone, uid = op["zone"], op["userId"]
        ref, now = self.refs.ref(uid), int(self.clock())
        self.shred_subject(zone, ref)
        author_id = op.get("authorId")
        if author_id is None:  # queued before erasure jobs existed
            profile = self.get_profile(zone, uid)
            author_id = profile.get("authorId") if profile else None
        table = self.cfg.restricted_table(zone)
        items = [
            {"Update": {"TableName": table, "Key": tombstone_key(ref),
                        "UpdateExpression": "SET erasedAt = if_not_exists(erasedAt, :now), expiration = :exp",
                        "ExpressionAttributeValues": {":now": now, ":exp": now + self.cfg.tombstone_seconds}}},
            {"Delete": {"TableName": table, "Key": {"pk": user_pk(uid), "sk": PROFILE}}},
        ]
        if op.get("replyRef"):  # the sign-up's sealed reply (it names the user id)
            items.append({"Delete": {"TableName": table, "Key": reply_key(op["replyRef"])}})
        # The subject's sessions go in the same transaction: no bearer credential (hash or export
        # key) outlives the erasure's first step. Bounded (appx_common.sessions: at most 50 live and
        # 10 revoked); anything left over (or written meanwhile) the job deletes.
        credentials = [i for i in self.user_items(zone, uid) if str(i["sk"]).startswith(CREDENTIAL_PREFIXES)]
        for item in credentials[:MAX_ERASURE_CREDENTIAL_DELETES]:
            items.append({"Delete": {"TableName": table, "Key": {"pk": item["pk"], "sk": item["sk"]}}})
        if author_id is not None:
            items.append({"Update": {
                "TableName": table, "Key": job_key(ref),
                "UpdateExpression": "SET userId = :u, authorId = :a, #z = :z, #r = if_not_exists(#r, :r), "
                                    "createdAt = if_not_exists(createdAt, :now), attempts = if_not_exists(attempts, :zero)",
                "ExpressionAttributeNames": {"#z": "zone", "#r": "region"},
                "ExpressionAttributeValues": {":u": uid, ":a": author_id, ":z": zone, ":r": self.cfg.region, ":now": now, ":zero": 0},
            }})
        self.ddb.meta.client.transact_write_items(TransactItems=items)

    def mark_author_erased(self, author_id: str) -> None:
        self.posts.put_item(Item={**erased_author_key(author_id), "expiration": int(self.clock()) + self.cfg.tombstone_seconds})

    def author_erased(self, author_id: str) -> bool:
        return "Item" in self.posts.get_item(Key=erased_author_key(author_id))

    def posts_by_author_consistent(self, author_id: str) -> list[dict]:
        """Strongly consistent (a full table scan, for audits): does not depend on the index."""
        return all_pages(self.posts.scan, FilterExpression="authorId = :a", ExpressionAttributeValues={":a": author_id}, ConsistentRead=True)

    # ---- feed projection ---------------------------------------------------------------
    def put_feed_entry(self, post: Mapping[str, Any]) -> None:
        self.feed.put_item(
            Item={**feed_key(post["createdAt"], post["postId"]), "postId": post["postId"], "text": post["text"], "createdAt": post["createdAt"]}
        )

    def delete_feed_entry(self, post: Mapping[str, Any]) -> None:
        self.feed.delete_item(Key=feed_key(post["createdAt"], post["postId"]))
