"""GET /v1/me/export for accounts of any size: cursor pagination (docs/api/operations.md).

The first page carries the profile (decrypted), the sessions and the first posts; every page
is at most ``page_bytes`` of JSON (Lambda's response limit is 6 MB) and, unless it is the
last, links to the next one (``next`` in the body, ``Link: <…>; rel="next"``). All pages
of one export show the posts as of the first page (``asOf``): posts written meanwhile are not
half-included. The last page says ``complete: true`` and how many posts the export holds.

The cursor is opaque and sealed: AES-256-GCM under the random export key of the session that
started the export (kept in that session's item in the zone's restricted table, never shown),
associated data binding the user id. So a cursor cannot be altered or used by another session
or user, dies when its session is rotated or revoked, and reveals nothing of what it points to
(the pseudonymous author id never travels in it). Cursors expire ``CURSOR_SECONDS`` after the
export started.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import quote

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from appx_common.config import EnvError
from appx_common.envelope import EnvelopeError, b64u_decode, b64u_encode
from appx_common.problems import Problem
from appx_common.store import Store, iso, post_key

FORMAT = "appx-export-v2"
PATH = "/v1/me/export"
DEFAULT_PAGE_BYTES, MIN_PAGE_BYTES, MAX_PAGE_BYTES = 1_000_000, 64 * 1024, 5_000_000
CURSOR_SECONDS = 3600
MAX_CURSOR_CHARS = 1024
QUERY_LIMIT = 250
# Room left for the page's envelope around the posts (page number, next link).
ENVELOPE_RESERVE = 2048
_AAD = b"appx-export-cursor-v1\n"


def page_bytes_from_env(env: Mapping[str, str]) -> int:
    raw = env.get("APPX_EXPORT_PAGE_BYTES")
    if raw in (None, ""):
        return DEFAULT_PAGE_BYTES
    if not raw.isascii() or not raw.isdigit() or not MIN_PAGE_BYTES <= int(raw) <= MAX_PAGE_BYTES:
        raise EnvError(f"APPX_EXPORT_PAGE_BYTES must be an integer from {MIN_PAGE_BYTES} to {MAX_PAGE_BYTES}, not {raw!r}")
    return int(raw)


def new_export_key() -> str:
    """A session's export key, as stored (base64url text: the item also travels in queued writes)."""
    return b64u_encode(os.urandom(32))


def _key(stored: object) -> bytes | None:
    try:
        key = b64u_decode(str(stored))
    except EnvelopeError:
        return None
    return key if len(key) == 32 else None


@dataclass(frozen=True)
class Cursor:
    as_of: str          # createdAt bound of the export (ISO, ms)
    after: tuple[str, str]  # (createdAt, postId) of the last post already sent
    page: int           # number of the page this cursor fetches
    sent: int           # posts sent before that page
    expires: int        # epoch seconds

    def seal(self, stored_key: str, user_id: str) -> str:
        key = _key(stored_key)
        if key is None:
            raise ValueError("the session has no valid export key")
        nonce = os.urandom(12)
        plain = json.dumps([self.as_of, list(self.after), self.page, self.sent, self.expires], separators=(",", ":")).encode()
        return b64u_encode(nonce + AESGCM(key).encrypt(nonce, plain, _AAD + user_id.encode()))

    @classmethod
    def open(cls, text: str, stored_key: object, user_id: str, now: float) -> Cursor:
        invalid = Problem(400, "invalid-cursor", "the cursor is malformed or belongs to another session; start the export again", parameter="cursor")
        key = _key(stored_key)
        if key is None or len(text) > MAX_CURSOR_CHARS:
            raise invalid
        try:
            blob = b64u_decode(text)
            as_of, after, page, sent, expires = json.loads(AESGCM(key).decrypt(blob[:12], blob[12:], _AAD + user_id.encode()))
            cursor = cls(str(as_of), (str(after[0]), str(after[1])), int(page), int(sent), int(expires))
        except (EnvelopeError, InvalidTag, ValueError, TypeError, IndexError):
            raise invalid from None
        if now >= cursor.expires:
            raise Problem(410, "cursor-expired", f"export cursors are valid for {CURSOR_SECONDS} s; start the export again", parameter="cursor")
        return cursor


def _size(value: object) -> int:
    # Measured exactly as the response is serialised (json.dumps defaults, ASCII escapes).
    return len(json.dumps(value, default=str))


class Exporter:
    def __init__(self, store: Store, page_bytes: int, clock: Callable[[], float]):
        self.store, self.page_bytes, self.clock = store, page_bytes, clock

    def page(self, user_id: str, author_id: str, export_key: str, cursor_text: str | None,
             first_page: Callable[[], dict]) -> tuple[dict, dict]:
        """(body, headers) of one page. ``first_page`` builds the head of page 1."""
        now = self.clock()
        if cursor_text is None:
            cursor = Cursor(iso(now), ("", ""), 1, 0, int(now) + CURSOR_SECONDS)
            doc = {"format": FORMAT, "asOf": cursor.as_of, "page": 1, **first_page()}
        else:
            cursor = Cursor.open(cursor_text, export_key, user_id, now)
            doc = {"format": FORMAT, "asOf": cursor.as_of, "page": cursor.page}
        budget = self.page_bytes - _size({**doc, "posts": []}) - ENVELOPE_RESERVE
        posts, more = self._posts(author_id, cursor, budget)
        doc["posts"] = posts
        headers = {}
        if more:
            last = posts[-1]
            nxt = Cursor(cursor.as_of, (last["createdAt"], last["postId"]), cursor.page + 1, cursor.sent + len(posts), cursor.expires)
            doc["next"] = f"{PATH}?cursor={quote(nxt.seal(export_key, user_id))}"
            headers["Link"] = f'<{doc["next"]}>; rel="next"'
        else:
            doc.update(complete=True, postCount=cursor.sent + len(posts))
        return doc, headers

    def _posts(self, author_id: str, cursor: Cursor, budget: int) -> tuple[list[dict], bool]:
        """Posts after the cursor, oldest first, up to ``budget`` bytes; and whether more remain."""
        kwargs = {
            "IndexName": "byAuthor",
            "KeyConditionExpression": "authorId = :a AND createdAt <= :t",
            "ExpressionAttributeValues": {":a": author_id, ":t": cursor.as_of},
            "Limit": QUERY_LIMIT,
        }
        if cursor.after[1]:
            created, post_id = cursor.after
            kwargs["ExclusiveStartKey"] = {"authorId": author_id, "createdAt": created, **post_key(post_id)}
        out: list[dict] = []
        used = 0
        while True:
            result = self.store.posts.query(**kwargs)
            for item in result.get("Items", []):
                post = {k: v for k, v in item.items() if k not in ("pk", "sk")}
                size = _size(post) + 2  # ", " between list items
                if out and used + size > budget:
                    return out, True
                out.append(post)
                used += size
            if "LastEvaluatedKey" not in result:
                return out, False
            kwargs["ExclusiveStartKey"] = result["LastEvaluatedKey"]
