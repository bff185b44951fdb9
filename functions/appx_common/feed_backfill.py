"""Backfill a cell's feed projection from its posts replica.

A new cell's stream mapping starts at TRIM_HORIZON, the oldest record its posts stream keeps (24
hours); posts older than that reach the new replica when it is created, not through its stream,
so the feed would never show them. Run once after the new cell's first `pulumi up`:

    python -m tools.backfill_feed --region eu-north-1

Idempotent (a feed entry is keyed by the post), safe next to the live stream consumer, and it
never resurrects an erased post: posts of erased authors are skipped, and every entry written is
checked against its post afterwards (consistent read) and removed if the post is gone. A post
deleted after that check has its REMOVE record on the stream after our write, so the stream
consumer removes the entry.
"""

from __future__ import annotations

from typing import Any

from appx_common.store import Store, post_key


def is_post(item: dict[str, Any]) -> bool:
    """Posts carry a postId and text; the table also holds erased-author markers."""
    return bool(item.get("postId")) and item.get("text") is not None


def backfill_feed(store: Store, page_size: int = 500) -> dict[str, int]:
    summary = {"scanned": 0, "projected": 0, "skippedErased": 0, "withdrawn": 0}
    kwargs: dict[str, Any] = {"Limit": page_size}
    while True:
        page = store.posts.scan(**kwargs)
        for item in page.get("Items", []):
            summary["scanned"] += 1
            if not is_post(item):
                continue
            if store.author_erased(item.get("authorId", "")):
                summary["skippedErased"] += 1
                continue
            store.put_feed_entry(item)
            if "Item" not in store.posts.get_item(Key=post_key(item["postId"]), ConsistentRead=True):
                store.delete_feed_entry(item)  # erased while we copied it
                summary["withdrawn"] += 1
                continue
            summary["projected"] += 1
        if "LastEvaluatedKey" not in page:
            return summary
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
