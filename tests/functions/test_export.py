"""GET /v1/me/export in pages: complete, each page within its byte budget, cursors sealed to
the session, a stable snapshot across pages."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.functions.test_api import problem

PAGE_BYTES = 65536


@pytest.fixture
def small_pages(world, modules):
    world.api = modules["api"].make_handler({**world.env, "APPX_EXPORT_PAGE_BYTES": str(PAGE_BYTES)}, dynamodb=world.ddb, sqs=world.sqs, clock=world.clock)
    return world


def author_id(world, user_id):
    profile = world.ddb.Table("appx-restricted-eu").get_item(Key={"pk": f"USER#{user_id}", "sk": "PROFILE"})["Item"]
    return profile["authorId"]


def store_posts(world, author, n, at="2025-01-01T00:00:00"):
    """Posts written straight to the table (as the API would): long, with escapes and
    characters outside the BMP, which JSON needs 12 bytes for."""
    posts = []
    with world.ddb.Table("appx-posts").batch_writer() as batch:
        for i in range(n):
            post_id = "p_" + f"{i:026d}".translate(str.maketrans("0123456789", "abcdefghij"))
            text = (f"post {i} \"quoted\" äöü 😀 " * 40)[:1000]
            created = f"{at}.{i % 1000:03d}Z" if n <= 1000 else f"2025-01-01T{i // 3600 % 24:02d}:{i // 60 % 60:02d}:{i % 60:02d}.{i // 86400:03d}Z"
            post = {"postId": post_id, "authorId": author, "text": text, "createdAt": created}
            batch.put_item(Item={"pk": f"POST#{post_id}", "sk": "POST", **post})
            posts.append(post)
    return posts


def fetch_all(world, token):
    pages, url = [], "/v1/me/export"
    while url:
        parts = urlsplit(url)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()} or None
        r = world.request("GET", parts.path, token=token, query=query)
        assert r.status == 200, r
        assert len(r.text.encode()) <= PAGE_BYTES, len(r.text)
        doc = r.json
        if "next" in doc:
            assert r.headers["link"] == f'<{doc["next"]}>; rel="next"'
        else:
            assert "link" not in r.headers
        pages.append(doc)
        url = doc.get("next")
    return pages


def test_large_export_is_complete_in_bounded_pages(small_pages):
    world = small_pages
    user = world.signup().json
    posts = store_posts(world, author_id(world, user["userId"]), 400)
    pages = fetch_all(world, user["token"])
    assert len(pages) > 5
    assert [p["page"] for p in pages] == list(range(1, len(pages) + 1))
    assert pages[0]["user"]["profile"]["email"] == "alice@example.org" and pages[0]["sessions"]
    assert all("user" not in p and "sessions" not in p for p in pages[1:])
    assert pages[-1]["complete"] is True and pages[-1]["postCount"] == 400
    exported = [post for page in pages for post in page["posts"]]
    assert exported == sorted(posts, key=lambda p: (p["createdAt"], p["postId"]))


def test_snapshot_excludes_posts_written_during_the_export(small_pages):
    world = small_pages
    user = world.signup().json
    store_posts(world, author_id(world, user["userId"]), 200, at="2020-01-01T00:00:00")
    first = world.request("GET", "/v1/me/export", token=user["token"]).json
    world.clock.advance(5)
    late = world.request("POST", "/v1/posts", {"text": "written meanwhile"}, token=user["token"]).json
    pages, url = [first], first["next"]
    while url:
        doc = world.request("GET", "/v1/me/export", token=user["token"], query={"cursor": parse_qs(urlsplit(url).query)["cursor"][0]}).json
        pages.append(doc)
        url = doc.get("next")
    ids = [p["postId"] for page in pages for p in page["posts"]]
    assert len(ids) == 200 and late["postId"] not in ids and pages[-1]["postCount"] == 200


def cursor_of(doc):
    return parse_qs(urlsplit(doc["next"]).query)["cursor"][0]


def test_cursor_is_sealed_to_its_session(small_pages):
    world = small_pages
    user = world.signup().json
    store_posts(world, author_id(world, user["userId"]), 200)
    cursor = cursor_of(world.request("GET", "/v1/me/export", token=user["token"]).json)
    assert "a_" not in cursor and "2025" not in cursor  # opaque: no pseudonym, no position in clear
    flipped = cursor[:-2] + ("A" if cursor[-2] != "A" else "B") + cursor[-1]
    for bad in (flipped, "x" * 40, cursor + "AA", "%%%"):
        doc = problem(world.request("GET", "/v1/me/export", token=user["token"], query={"cursor": bad}), 400)
        assert doc["type"].endswith("/invalid-cursor")
    # another session of the same user, and another user, cannot use it
    second = world.request("POST", "/v1/me/sessions", token=user["token"]).json["token"]
    problem(world.request("GET", "/v1/me/export", token=second, query={"cursor": cursor}), 400)
    other = world.signup(email="bob@example.org").json["token"]
    problem(world.request("GET", "/v1/me/export", token=other, query={"cursor": cursor}), 400)
    # rotation ends the session, and with it its cursors
    rotated = world.request("POST", "/v1/me/token:rotate", token=user["token"]).json["token"]
    problem(world.request("GET", "/v1/me/export", token=rotated, query={"cursor": cursor}), 400)


def test_cursor_expires(small_pages):
    world = small_pages
    user = world.signup().json
    store_posts(world, author_id(world, user["userId"]), 200)
    cursor = cursor_of(world.request("GET", "/v1/me/export", token=user["token"]).json)
    assert world.request("GET", "/v1/me/export", token=user["token"], query={"cursor": cursor}).status == 200
    world.clock.advance(3601)
    doc = problem(world.request("GET", "/v1/me/export", token=user["token"], query={"cursor": cursor}), 410)
    assert doc["type"].endswith("/cursor-expired")


def test_small_account_is_one_complete_page(world):
    user = world.signup().json
    world.request("POST", "/v1/posts", {"text": "only one"}, token=user["token"])
    r = world.request("GET", "/v1/me/export", token=user["token"])
    doc = r.json
    assert doc["format"] == "appx-export-v2" and doc["complete"] is True and doc["postCount"] == 1 and "next" not in doc
    assert [p["text"] for p in doc["posts"]] == ["only one"]
    assert r.headers["content-disposition"] == 'attachment; filename="appx-export.json"'
    assert json.dumps(doc).count(user["token"].rsplit(".", 1)[1]) == 0


def test_page_budget_is_configurable_and_checked(world, modules):
    from appx_common.config import EnvError

    for bad in ("100", "six", "9000000"):
        with pytest.raises(EnvError, match="APPX_EXPORT_PAGE_BYTES"):
            modules["api"].make_handler({**world.env, "APPX_EXPORT_PAGE_BYTES": bad}, dynamodb=world.ddb, sqs=world.sqs, clock=world.clock)
