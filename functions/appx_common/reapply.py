"""Re-apply erasures (GDPR Art. 17) to a table restored from a point-in-time backup.

A restore brings a table back as it was at the restore point: every subject erased since comes
back with it. The live tables remember every erasure longer than any recovery period
(components/erasure_windows.py): the zones' tombstones and pending jobs (restricted tables), the
erased-author and erased-post markers (posts). ``read_erasures`` collects them (subject
references and hashes only: nothing here names a user), ``reapply`` deletes from a restored table
every item the erasure job would have deleted, matched as the job and the writers match them:

* restricted table: the items of a user (``USER#<id>`` partition, sign-up reply) whose subject
  reference (``SubjectRefs``, the zone's HMAC key) has a tombstone; a job row by its reference;
* posts: a post whose author has an erased-author marker or a pending job;
* feed: an entry whose key an erased-post marker names, or a post of a pending job's author;
* idempotency: a record whose ``subject`` has a tombstone.

It then copies the live erasure records the restored table misses (tombstones and jobs into a
restricted table, markers into posts), so the table can replace the live one without forgetting
an erasure made after its restore point. Idempotent: a second run deletes and copies nothing.

``copy_back`` is the swap: it puts the items of a re-applied restored table that the live table
lacks into it (a newer live item always wins; bearer credentials never come back). An erasure
committed while it copies is caught by re-applying to the live table afterwards (its tombstone
exists by then); one committed later runs its job over the copied items like any other.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from boto3.dynamodb.conditions import Attr
from botocore.exceptions import ClientError

from appx_common.erasure import ErasureJobs
from appx_common.store import (CREDENTIAL_PREFIXES, ERASED_POSTS_PK, JOBS_PK, PROFILE, REPLY_PREFIX, TOMBSTONE, USER_PREFIX, Store,
                               all_pages, erased_author_key, feed_key, is_conditional, restricted_item_user)
from appx_common.subjects import SubjectRefs

KINDS = ("restricted", "posts", "feed", "idempotency")
ERASED_PREFIX = "ERASED"  # tombstones and erased-author markers (ERASED#...) and ERASED-POSTS


@dataclass(frozen=True)
class Erasures:
    """What the live tables remember of every erasure, by keyed reference or hash only."""

    refs: frozenset[str]  # subject references with a tombstone (every zone)
    erased_authors: frozenset[str]  # erased-author marker keys (``erased_author_key``) incl. pending jobs
    erased_feed_keys: frozenset[str]  # feed sort keys of erased posts incl. pending jobs' posts
    zone_records: Mapping[str, tuple[dict, ...]]  # zone -> its live tombstones and jobs
    post_markers: tuple[dict, ...]  # the live erased-author and erased-post markers

    def counts(self) -> dict[str, int]:
        return {"tombstones": len(self.refs), "erasedAuthors": len(self.erased_authors),
                "erasedFeedEntries": len(self.erased_feed_keys),
                "pendingJobs": sum(1 for records in self.zone_records.values() for r in records if r["pk"] == JOBS_PK)}


def read_erasures(zone_stores: Mapping[str, Store], posts_store: Store) -> Erasures:
    """``zone_stores``: for every zone a store that reads its restricted table (in one of its
    regions); ``posts_store`` reads the posts table of the region being restored."""
    refs: set[str] = set()
    authors: set[str] = set()
    feed_keys: set[str] = set()
    zone_records: dict[str, tuple[dict, ...]] = {}
    for zone, store in zone_stores.items():
        tombstones = all_pages(store.restricted(zone).scan, ConsistentRead=True,
                               FilterExpression=Attr("pk").begins_with(f"{ERASED_PREFIX}#") & Attr("sk").eq(TOMBSTONE))
        jobs = ErasureJobs(store).list(zone)
        refs |= {t["pk"][len(ERASED_PREFIX) + 1:] for t in tombstones} | {j["sk"] for j in jobs}
        for job in jobs:  # not run to the end yet: its author has no marker, its posts are still live
            authors.add(erased_author_key(job["authorId"])["pk"])
            feed_keys |= {feed_key(p["createdAt"], p["postId"])["sk"] for p in posts_store.posts_by_author(job["authorId"])}
        zone_records[zone] = (*tombstones, *jobs)
    markers = all_pages(posts_store.posts.scan, ConsistentRead=True, FilterExpression=Attr("pk").begins_with(ERASED_PREFIX))
    authors |= {m["pk"] for m in markers if m["pk"] != ERASED_POSTS_PK}
    feed_keys |= {m["feedSk"] for m in markers if m["pk"] == ERASED_POSTS_PK}
    return Erasures(frozenset(refs), frozenset(authors), frozenset(feed_keys), zone_records, tuple(markers))


def erased_item_kind(kind: str, item: Mapping[str, Any], erasures: Erasures, refs: SubjectRefs) -> str | None:
    """What an item of a restored ``kind`` table is when it belongs to an erased subject (the
    label the counts use), else None."""
    if kind == "restricted":
        if item["pk"] == JOBS_PK:
            return "erasureJob" if item["sk"] in erasures.refs else None
        user = restricted_item_user(item)
        if user is None or refs.ref(user) not in erasures.refs:
            return None
        sk = str(item["sk"])
        if str(item["pk"]).startswith(USER_PREFIX):
            return "profile" if sk == PROFILE else "session" if sk.startswith(CREDENTIAL_PREFIXES) else "userItem"
        return "signupReply"
    if kind == "posts":
        author = item.get("authorId")
        return "post" if author and erased_author_key(author)["pk"] in erasures.erased_authors else None
    if kind == "feed":
        return "feedEntry" if item.get("sk") in erasures.erased_feed_keys else None
    if kind == "idempotency":
        return "idempotencyRecord" if item.get("subject") in erasures.refs else None
    raise ValueError(f"kind must be one of {', '.join(KINDS)}, not {kind!r}")


def live_records(kind: str, zone: str | None, erasures: Erasures) -> tuple[dict, ...]:
    """The live erasure records a restored table of ``kind`` must hold to replace the live one."""
    if kind == "restricted":
        return erasures.zone_records.get(zone or "", ())
    return erasures.post_markers if kind == "posts" else ()


def reapply(table, kind: str, key_names: tuple[str, ...], erasures: Erasures, refs: SubjectRefs, *,
            zone: str | None = None, apply: bool = False) -> dict:
    """Scan the restored ``table`` (a boto3 Table); delete what belongs to erased subjects and copy
    the live erasure records it lacks, or (``apply`` False) only count them."""
    erased: Counter[str] = Counter()
    scanned = 0
    present: dict[tuple, dict] = {}
    carried = live_records(kind, zone, erasures)
    carried_keys = {tuple(r[k] for k in key_names) for r in carried}
    to_delete: list[dict] = []
    kwargs: dict[str, Any] = {"ConsistentRead": True}
    while True:
        page = table.scan(**kwargs)
        for item in page.get("Items", []):
            scanned += 1
            key = tuple(item[k] for k in key_names)
            if key in carried_keys:
                present[key] = item
            label = erased_item_kind(kind, item, erasures, refs)
            if label is not None and key not in carried_keys:
                erased[label] += 1
                to_delete.append({k: item[k] for k in key_names})
        if "LastEvaluatedKey" not in page:
            break
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    to_copy = [r for r in carried if present.get(tuple(r[k] for k in key_names)) != r]
    if apply:
        with table.batch_writer() as batch:
            for key in to_delete:
                batch.delete_item(Key=key)
            for record in to_copy:
                batch.put_item(Item=record)
    return {"scanned": scanned, "erased": dict(sorted(erased.items())), "erasureRecordsCopied": len(to_copy)}


def is_credential(kind: str, item: Mapping[str, Any]) -> bool:
    """A bearer credential (session or legacy token hash, a sign-up reply holding a token): a
    restore never brings one back, the user signs in again."""
    if kind != "restricted":
        return False
    return str(item.get("sk", "")).startswith(CREDENTIAL_PREFIXES) or str(item.get("pk", "")).startswith(REPLY_PREFIX)


def copy_back(restored, live, kind: str, key_names: tuple[str, ...], *, apply: bool = False) -> dict:
    """Put every item of the (re-applied) ``restored`` table that the ``live`` table lacks into it,
    conditionally: an item the live table holds (newer) always wins. Credentials are never copied."""
    names = {f"#k{i}": k for i, k in enumerate(key_names)}
    live_keys = {tuple(i[k] for k in key_names) for i in all_pages(
        live.scan, ConsistentRead=True, ProjectionExpression=", ".join(names), ExpressionAttributeNames=names)}
    counts: Counter[str] = Counter()
    for item in all_pages(restored.scan, ConsistentRead=True):
        if is_credential(kind, item):
            counts["credentialsSkipped"] += 1
        elif tuple(item[k] for k in key_names) in live_keys:
            counts["alreadyLive"] += 1
        elif not apply:
            counts["copied"] += 1
        else:
            try:
                live.put_item(Item=item, ConditionExpression=Attr(key_names[0]).not_exists())
                counts["copied"] += 1
            except ClientError as exc:
                if not is_conditional(exc):
                    raise
                counts["alreadyLive"] += 1  # written meanwhile
    return {k: counts[k] for k in ("copied", "alreadyLive", "credentialsSkipped")}
