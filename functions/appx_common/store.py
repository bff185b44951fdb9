"""Table layouts (docs/runtime-contract.md) and the write operations shared by the API (direct
path) and the worker (queued path). Every operation is idempotent: applying the same message
twice has the effect of applying it once.

restricted table ``appx-restricted-<zone>`` (pk, sk):
    USER#<userId> / PROFILE        userId, zone, authorId, fields{name: appxsk1 token},
                                   locale?, createdAt, updatedAtUs, requestId, idem (string set),
                                   replyRef? (the sign-up's idempotency record id)
    USER#<userId> / TOKEN#<sha256> hash, createdAt                 (bearer tokens, hashes only)
    IDEMREPLY#<record id> / REPLY  userId, reply (appxsk1 token), expiration (TTL)
                                   (a sign-up's reply: it holds a credential, so it stays in the zone)
subject keys ``appx-subject-keys-<zone>`` (pk): SUBJECT#<userId>  version, wrapped, createdAt
posts ``appx-posts``:  POST#<postId> / POST   postId, authorId, text, createdAt  (GSI byAuthor)
feed ``appx-feed``:    FEED / <createdAt>#<postId>  postId, text, createdAt     (no author id)
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from appx_common.aws import THROTTLING_CODES, error_code
from appx_common.config import RegionConfig
from appx_common.subject_keys import subject_key_item_key

PROFILE = "PROFILE"
REPLY = "REPLY"
# How long an erased author's marker outlives the erasure: far longer than the byAuthor index
# can lag behind a post written in the same instant (DynamoDB TTL deletes it afterwards).
ERASED_MARKER_SECONDS = 24 * 3600
FEED_PK = "FEED"
FEED_LIMIT_MAX = 100


class Conflict(Exception):
    """The target already exists and was not created by this request."""


class PermanentError(Exception):
    """A queued operation that can never succeed (goes to the DLQ after maxReceiveCount)."""


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


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def user_pk(user_id: str) -> str:
    return f"USER#{user_id}"


def post_key(post_id: str) -> dict:
    return {"pk": f"POST#{post_id}", "sk": "POST"}


def feed_key(created_at: str, post_id: str) -> dict:
    return {"pk": FEED_PK, "sk": f"{created_at}#{post_id}"}


def reply_key(record_id: str) -> dict:
    return {"pk": f"IDEMREPLY#{record_id}", "sk": REPLY}


def erased_author_key(author_id: str) -> dict:
    # Only a hash of the (already deleted) pseudonym: the marker identifies nobody.
    return {"pk": f"ERASED#{hashlib.sha256(author_id.encode()).hexdigest()}", "sk": "ERASED"}


class Store:
    def __init__(self, cfg: RegionConfig, dynamodb, clock: Callable[[], float] = time.time):
        self.cfg, self.ddb, self.clock = cfg, dynamodb, clock
        self._tables: dict[str, Any] = {}

    def table(self, name: str):
        if name not in self._tables:
            self._tables[name] = self.ddb.Table(name)
        return self._tables[name]

    def restricted(self, zone: str):
        return self.table(self.cfg.restricted_table(zone))

    def subject_keys(self, zone: str):
        return self.table(self.cfg.subject_keys_table(zone))

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
        items, kwargs = [], {"KeyConditionExpression": "pk = :pk", "ExpressionAttributeValues": {":pk": user_pk(user_id)}, "ConsistentRead": True}
        while True:
            page = self.restricted(zone).query(**kwargs)
            items.extend(page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                return items
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def get_profile(self, zone: str, user_id: str) -> dict | None:
        return self.restricted(zone).get_item(Key={"pk": user_pk(user_id), "sk": PROFILE}, ConsistentRead=True).get("Item")

    def get_reply(self, zone: str, record_id: str) -> dict | None:
        return self.restricted(zone).get_item(Key=reply_key(record_id), ConsistentRead=True).get("Item")

    def get_post(self, post_id: str) -> dict | None:
        return self.posts.get_item(Key=post_key(post_id)).get("Item")

    def posts_by_author(self, author_id: str) -> list[dict]:
        items, kwargs = [], {"IndexName": "byAuthor", "KeyConditionExpression": "authorId = :a", "ExpressionAttributeValues": {":a": author_id}}
        while True:
            page = self.posts.query(**kwargs)
            items.extend(page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                return items
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def feed_page(self, limit: int) -> list[dict]:
        page = self.feed.query(
            KeyConditionExpression="pk = :pk", ExpressionAttributeValues={":pk": FEED_PK}, ScanIndexForward=False, Limit=limit
        )
        return page.get("Items", [])

    # ---- operations (direct and queued) --------------------------------------------------
    def apply(self, op: Mapping[str, Any]) -> None:
        kind = op.get("op")
        zone = op.get("zone")
        if zone not in self.cfg.zones:
            raise PermanentError(f"zone {zone!r} not served in {self.cfg.region}")
        handler = {
            "createUser": self._create_user,
            "updateProfile": self._update_profile,
            "createPost": self._create_post,
            "eraseUser": self._erase_user,
            "addIdempotencyRef": self._add_idem_ref,
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
        if profile.get("idem"):
            profile["idem"] = set(profile["idem"])
        else:
            profile.pop("idem", None)
        token = {"pk": user_pk(uid), "sk": f"TOKEN#{op['tokenHash']}", "hash": op["tokenHash"], "createdAt": profile["createdAt"]}
        table = self.cfg.restricted_table(zone)
        puts = [profile, token]
        if op.get("reply"):  # the sign-up's idempotent reply, sealed under the subject key
            reply = op["reply"]
            profile["replyRef"] = reply["recordId"]
            puts.append({**reply_key(reply["recordId"]), "userId": uid, "reply": reply["sealed"], "expiration": int(reply["expiration"])})
        client = self.ddb.meta.client
        try:
            client.transact_write_items(
                TransactItems=[{"Put": {"TableName": table, "Item": item, "ConditionExpression": "attribute_not_exists(pk)"}} for item in puts]
            )
        except ClientError as exc:
            if not is_conditional(exc):
                raise
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
            # Already applied, superseded by a later change, or the user was erased: no-op.

    def _create_post(self, op) -> None:
        post = op["post"]
        if op.get("queued") and self.get_profile(op["zone"], op["userId"]) is None:
            return  # author erased while the write waited in the queue
        item = {**post_key(post["postId"]), **post}
        try:
            self.posts.put_item(Item=item, ConditionExpression="attribute_not_exists(pk)")
        except ClientError as exc:
            if not is_conditional(exc):
                raise

    def _add_idem_ref(self, op) -> None:
        try:
            self.restricted(op["zone"]).update_item(
                Key={"pk": user_pk(op["userId"]), "sk": PROFILE},
                UpdateExpression="ADD idem :r",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeValues={":r": {op["ref"]}},
            )
        except ClientError as exc:
            if not is_conditional(exc):
                raise

    def shred_subject(self, zone: str, user_id: str) -> None:
        """Crypto-shredding, the FIRST step of every erasure: delete the subject's key (in the
        zone's key store, replicated only inside the zone, no backups). Every copy of the
        subject's ciphertext anywhere is unreadable from here on. Idempotent."""
        self.subject_keys(zone).delete_item(Key=subject_key_item_key(user_id))

    def _erase_user(self, op) -> None:
        """Shred the subject's key, then delete every item of the subject in its zone's table
        (every replica follows), and the idempotency records of its requests. Posts and feed
        entries follow through the streams (stream consumer); ``erase_posts`` is the same step,
        callable directly."""
        zone, uid = op["zone"], op["userId"]
        self.shred_subject(zone, uid)
        items = self.user_items(zone, uid)
        refs = set()
        for item in items:
            refs |= set(item.get("idem", ()))
            if item.get("replyRef"):
                self.restricted(zone).delete_item(Key=reply_key(item["replyRef"]))
        for ref in sorted(refs):
            self.idempotency.delete_item(Key={"id": ref})
        # Tokens first, profile last: the profile REMOVE is what the stream consumer acts on.
        for item in sorted(items, key=lambda i: i["sk"] == PROFILE):
            self.restricted(zone).delete_item(Key={"pk": item["pk"], "sk": item["sk"]})

    def mark_author_erased(self, author_id: str) -> None:
        self.posts.put_item(Item={**erased_author_key(author_id), "expiration": int(self.clock()) + ERASED_MARKER_SECONDS})

    def author_erased(self, author_id: str) -> bool:
        return "Item" in self.posts.get_item(Key=erased_author_key(author_id))

    def erase_posts(self, author_id: str) -> int:
        posts = self.posts_by_author(author_id)
        for post in posts:
            self.posts.delete_item(Key={"pk": post["pk"], "sk": post["sk"]})
        return len(posts)

    # ---- feed projection ---------------------------------------------------------------
    def put_feed_entry(self, post: Mapping[str, Any]) -> None:
        self.feed.put_item(
            Item={**feed_key(post["createdAt"], post["postId"]), "postId": post["postId"], "text": post["text"], "createdAt": post["createdAt"]}
        )

    def delete_feed_entry(self, post: Mapping[str, Any]) -> None:
        self.feed.delete_item(Key=feed_key(post["createdAt"], post["postId"]))
