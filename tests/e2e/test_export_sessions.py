"""On the local runtime: a 20,000-post account exports completely, page by page, within the
Lambda response limit; rotated and revoked sessions are refused with their reason; nothing of
a secret, a cursor or the exported plaintext is left in any store, queue, log or dashboard
state, and a `de` user's sessions stay in eu-central-1."""

from __future__ import annotations

import hashlib
import json
import os
import time
import uuid
from urllib.parse import quote

import boto3
import urllib3
from boto3.dynamodb.types import TypeSerializer

from tests.e2e.conftest import signup
from tools.local.runtime import LOCAL_EXPORT_PAGE_BYTES

# The functions' own item builders (tools.local puts functions/ on sys.path, as in the bundle).
from appx_common.ids import new_post_id
from appx_common.store import post_item

# The size; APPX_E2E_EXPORT_POSTS overrides it (e.g. a smaller account while debugging).
POSTS = int(os.environ.get("APPX_E2E_EXPORT_POSTS", "20000"))
LAMBDA_RESPONSE_LIMIT = 6 * 1024 * 1024


def _ddb(stack, region):
    return boto3.client("dynamodb", region_name=region, endpoint_url=stack.state["moto"],
                        aws_access_key_id="testing", aws_secret_access_key="testing")


def _author_id(stack, user) -> str:
    item = _ddb(stack, "eu-central-1").get_item(TableName="appx-restricted-de", Key={"pk": {"S": f"USER#{user['userId']}"}, "sk": {"S": "PROFILE"}},
                                                 ConsistentRead=True)["Item"]
    return item["authorId"]["S"]


def _store_posts(stack, author: str, marker: str) -> dict[str, dict]:
    """POSTS posts loaded straight into every replica of the posts table (the runtime's import:
    no stream records, so no feed projection of them), each the item the API writes
    (``post_item``), with quotes, umlauts and emoji (12 bytes each in JSON)."""
    posts = {}
    for i in range(POSTS):
        created = f"2025-06-01T{i // 3600:02d}:{i // 60 % 60:02d}:{i % 60:02d}.{i % 1000:03d}Z"
        post = {"postId": new_post_id(), "authorId": author, "text": f"{marker} #{i} \"Grüße\" 🚀 " + "x" * (i % 300), "createdAt": created}
        posts[post["postId"]] = post
    serialise = TypeSerializer().serialize
    items = [{k: serialise(v) for k, v in post_item(post).items()} for post in posts.values()]
    assert stack.import_items("appx-posts", items) == POSTS * len(stack.cells)
    return posts


def _state(stack, attempts: int = 12) -> dict:
    """The dashboard state; the runtime may be slow to answer while it replicates 20,000 posts."""
    for attempt in range(attempts):
        try:
            return stack.status()
        except urllib3.exceptions.HTTPError:
            if attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")


def _export(stack, token) -> tuple[list[dict], list[int], list[str]]:
    pages, sizes, cursors, url = [], [], [], "/v1/me/export"
    while url:
        r = stack.request("GET", url, token=token, country="DE", timeout=60)
        assert r.status == 200, (r.status, r.text[:300])
        assert r.region == "eu-central-1"
        doc = r.json()
        sizes.append(len(r.body))
        pages.append(doc)
        url = doc.get("next")
        if url:
            assert r.headers["link"] == f'<{url}>; rel="next"'
            cursors.append(url.split("cursor=", 1)[1])
    return pages, sizes, cursors


def test_large_export_is_complete_and_sessions_leave_no_trace(healthy):
    stack = healthy
    marker = uuid.uuid4().hex[:10]
    email, name = f"grosse.{marker}@beispiel.de", f"Viel Schreiber {marker}"
    user = signup(stack, "DE", email, name)
    started = time.perf_counter()
    posts = _store_posts(stack, _author_id(stack, user), marker)
    seeded = time.perf_counter()

    # Sessions: a second device, revoked; then the first token is rotated.
    second = stack.request("POST", "/v1/me/sessions", token=user["token"], country="DE")
    assert second.status == 201, second.text
    assert stack.request("DELETE", f"/v1/me/sessions/{second.json()['sessionId']}", token=user["token"], country="DE").status == 204
    rotated = stack.request("POST", "/v1/me/token:rotate", token=user["token"], country="DE")
    assert rotated.status == 201, rotated.text
    token = rotated.json()["token"]
    for old, reason in ((user["token"], "rotated"), (second.json()["token"], "revoked")):
        r = stack.request("GET", "/v1/me", token=old, country="DE")
        assert r.status == 401 and r.json()["type"].endswith("/token-revoked") and r.json()["reason"] == reason, r.text
    # The dashboard's request view (the last 50 requests) says why the old tokens were refused.
    assert {"token-revoked"} <= {r.get("problem") for r in _state(stack)["recent"]}

    exporting = time.perf_counter()
    pages, sizes, cursors = _export(stack, token)
    # Figures, not asserts (pytest -s shows them).
    print(f"\n{POSTS} posts: seeding {seeded - started:.1f} s; export {time.perf_counter() - exporting:.1f} s in {len(pages)} pages")
    assert max(sizes) <= LOCAL_EXPORT_PAGE_BYTES < LAMBDA_RESPONSE_LIMIT
    if POSTS >= 20_000:
        assert sum(sizes) > LAMBDA_RESPONSE_LIMIT, "the account must be too large for one response"
    first, last = pages[0], pages[-1]
    assert first["user"]["profile"] == {"email": email, "name": name} and first["user"]["userId"] == user["userId"]
    assert {s["sessionId"]: s["status"] for s in first["sessions"]} == {
        user["sessionId"]: "revoked", second.json()["sessionId"]: "revoked", rotated.json()["sessionId"]: "active"}
    assert last["complete"] is True and last["postCount"] == POSTS
    exported = [p for page in pages for p in page["posts"]]
    assert len(exported) == POSTS and len({p["postId"] for p in exported}) == POSTS
    for post in exported:  # item by item
        assert post == posts[post["postId"]]
    assert [p["createdAt"] for p in exported] == sorted(p["createdAt"] for p in exported)
    # ... and shows the export's requests without their query (no cursor).
    recent = _state(stack)["recent"]
    assert any(r.get("path") == "/v1/me/export" for r in recent) and not any("cursor" in json.dumps(r) for r in recent)

    # Leak scan: secrets, what is derived from the revoked ones, cursors and the exported
    # plaintext appear in no store, queue, log or dashboard state of any region.
    secrets = [t.rsplit(".", 1)[1] for t in (user["token"], second.json()["token"], token)]
    revoked_hashes = [hashlib.sha256(s.encode()).hexdigest() for s in secrets[:2]]
    blobs = {region: json.dumps(stack.dump_region(region)) + json.dumps(stack.queue_messages(region)) for region in stack.cells}
    everything = "".join(blobs.values()) + "".join(stack.logs().values()) + json.dumps(_state(stack))
    for needle in [*secrets, *revoked_hashes, *cursors, *(quote(c) for c in cursors), email, name]:
        assert needle not in everything, f"{needle[:12]}… found in a store, log or the dashboard state"
    for region in ("eu-west-1", "eu-west-3"):
        assert user["userId"] not in blobs[region] and rotated.json()["sessionId"] not in blobs[region], f"de session found in {region}"
    assert rotated.json()["sessionId"] in blobs["eu-central-1"]
