"""The erasure pipeline (GDPR Art. 17): a recorded job per erased subject, retried until verified.

``DELETE /v1/me`` (or the queued ``eraseUser``) commits one transaction in the zone's restricted
table: the tombstone, the job row (``ERASURE-JOB`` / subject ref) and the profile's deletion
(``Store._erase_user``). The job then runs

* at once, in the region that wrote it, from the restricted table's stream (job INSERT), and
* from the sweeper (the worker on a schedule, every region of the zone), for every job whose last
  attempt is older than ``erasure_retry_seconds``: a stream batch discarded after its retries, a region
  lost mid-job, anything else that dropped the first run.

A run deletes, in order: the subject's key in every region of the zone (already shredded by
``Store._erase_user``; again here, idempotently, for a region that was unreachable then), what is left under ``USER#<id>`` (tokens), the idempotency records of
the subject (GSI ``bySubject`` of ``appx-idempotency``), every post of the pseudonym (GSI
``byAuthor``) with this region's feed entries, leaving an ``ERASED-POSTS`` marker so every other
region's sweeper clears its own feed projection. Then it verifies: the consistent query of the
subject's partition, the subject key in every region of the zone, the ``bySubject`` and ``byAuthor`` indexes all empty, and at least
``erasure_settle_seconds`` since the tombstone. No write of the subject can start after the
tombstone (every writer checks it atomically), so the set to delete is closed; the settle window
covers index propagation and replication within the zone, and the erased-author marker makes
the stream consumer delete a post whose INSERT arrives later still. Only then is the job
deleted and the tombstone stamped ``completedAt``; otherwise the job records the attempt and
what remains. Every step is idempotent: runs in several regions at once are harmless.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError

from appx_common.store import (ERASED_POSTS_PK, FEED_PK, JOBS_PK, Store, all_pages, feed_key, is_conditional, iso, job_key,
                               tombstone_key)

# Feed entries of posts erased within this window are cleared by every region's sweeper: longer
# than a stream's retention (24 h), so a projection written from any stream record is caught.
# The markers themselves live as long as tombstones: `tools.erasure reapply` finds the feed
# entries of erased posts in a restored feed table by them.
FEED_SWEEP_SECONDS = 26 * 3600


class ErasureJobs:
    def __init__(self, store: Store):
        self.store = store

    # ---- reading ------------------------------------------------------------------------
    def list(self, zone: str) -> list[dict]:
        return all_pages(self.store.restricted(zone).query, KeyConditionExpression=Key("pk").eq(JOBS_PK), ConsistentRead=True)

    def get(self, zone: str, ref: str) -> dict | None:
        return self.store.restricted(zone).get_item(Key=job_key(ref), ConsistentRead=True).get("Item")

    def idempotency_ids(self, ref: str) -> list[str]:
        return [i["id"] for i in all_pages(self.store.idempotency.query, IndexName="bySubject", KeyConditionExpression=Key("subject").eq(ref))]

    # ---- running ------------------------------------------------------------------------
    def run(self, job: Mapping[str, Any], consistent_posts: bool = False) -> dict:
        """One attempt. Returns {"complete": bool, "remaining": {...}, "deleted": {...}}."""
        store, zone, uid, author, ref = self.store, job["zone"], job["userId"], job["authorId"], job["sk"]
        now = int(store.clock())
        deleted = {"restricted": 0, "idempotency": 0, "posts": 0}
        table = store.restricted(zone)
        store.shred_subject(zone, ref)
        for item in store.user_items(zone, uid):
            table.delete_item(Key={"pk": item["pk"], "sk": item["sk"]})
            deleted["restricted"] += 1
        for rid in self.idempotency_ids(ref):
            store.idempotency.delete_item(Key={"id": rid})
            deleted["idempotency"] += 1
        store.mark_author_erased(author)
        for post in self._posts(author, consistent_posts):
            feed_sk = feed_key(post["createdAt"], post["postId"])["sk"]
            store.posts.put_item(Item={"pk": ERASED_POSTS_PK, "sk": f"{iso(now)}#{feed_sk}", "feedSk": feed_sk,
                                       "expiration": now + store.cfg.tombstone_seconds})
            store.delete_feed_entry(post)
            store.posts.delete_item(Key={"pk": post["pk"], "sk": post["sk"]})
            deleted["posts"] += 1
        remaining = {
            "restricted": len(store.user_items(zone, uid)),
            "subjectKey": len(store.regions_holding_subject_key(zone, ref)),
            "idempotency": len(self.idempotency_ids(ref)),
            "posts": len(self._posts(author, consistent_posts)),
        }
        settled = now - int(job.get("createdAt", now)) >= store.cfg.erasure_settle_seconds
        if settled and not any(remaining.values()):
            store.ddb.meta.client.transact_write_items(TransactItems=[
                {"Delete": {"TableName": store.cfg.restricted_table(zone), "Key": job_key(ref)}},
                {"Update": {"TableName": store.cfg.restricted_table(zone), "Key": tombstone_key(ref),
                            "UpdateExpression": "SET completedAt = :now", "ExpressionAttributeValues": {":now": now}}},
            ])
            return {"complete": True, "remaining": remaining, "deleted": deleted}
        try:
            table.update_item(
                Key=job_key(ref),
                UpdateExpression="SET attempts = if_not_exists(attempts, :zero) + :one, lastAttemptAt = :now, remaining = :rem",
                ConditionExpression="attribute_exists(pk)",  # a concurrent run may have completed it
                ExpressionAttributeValues={":zero": 0, ":one": 1, ":now": now, ":rem": remaining},
            )
        except ClientError as exc:
            if not is_conditional(exc):
                raise
        return {"complete": False, "remaining": remaining, "deleted": deleted, "settled": settled}

    def _posts(self, author: str, consistent: bool) -> list[dict]:
        return self.store.posts_by_author_consistent(author) if consistent else self.store.posts_by_author(author)

    def due(self, zone: str) -> list[dict]:
        now = int(self.store.clock())
        return [j for j in self.list(zone) if now - int(j.get("lastAttemptAt", 0)) >= self.store.cfg.erasure_retry_seconds]

    def clear_erased_feed_entries(self) -> int:
        """Delete this region's feed entries of posts erased in the last FEED_SWEEP_SECONDS."""
        since = iso(self.store.clock() - FEED_SWEEP_SECONDS)
        kwargs: dict[str, Any] = {"KeyConditionExpression": Key("pk").eq(ERASED_POSTS_PK) & Key("sk").gt(since)}
        cleared = 0
        # Runs of the job in several regions leave several markers per post: de-duplicate keys
        # (BatchWriteItem rejects a batch that names one key twice).
        with self.store.feed.batch_writer(overwrite_by_pkeys=["pk", "sk"]) as batch:
            while True:
                page = self.store.posts.query(**kwargs)
                for marker in page.get("Items", []):
                    batch.delete_item(Key={"pk": FEED_PK, "sk": marker["feedSk"]})
                    cleared += 1
                if "LastEvaluatedKey" not in page:
                    return cleared
                kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def is_job_key(image: Mapping[str, Any]) -> bool:
    return image.get("pk") == JOBS_PK and bool(image.get("userId"))
