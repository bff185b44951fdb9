"""Every API route through the edge (or directly, for what the edge would block), on moto."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

PLAIN = {"email": "alice@example.org", "name": "Alice Example", "phone": "+33 6 12 34 56 78", "birthDate": "1990-04-01"}


def problem(r, status):
    assert r.status == status, r
    assert r.headers.get("content-type") == "application/problem+json", r.headers
    doc = r.json
    assert doc["status"] == status and doc["type"].startswith("https://") and doc["title"]
    return doc


@pytest.fixture
def user(world):
    r = world.signup()
    assert r.status == 201, r
    return r.json


# ---- sign-up ---------------------------------------------------------------------------------
def test_signup_creates_user_in_zone_with_ciphertext_only(world):
    r = world.signup(country="DE")
    assert r.status == 201, r
    uid, token = r.json["userId"], r.json["token"]
    assert uid.startswith("u_de_") and r.json["zone"] == "de" and r.origin == "de.origin.appx.example.eu"
    items = world.all_items()
    assert items["appx-restricted-eu"] == []
    dumped = json.dumps(items, default=repr)
    for value in PLAIN.values():
        assert value not in dumped
    assert token.split(".")[-1] not in dumped  # only the hash is stored
    profile = next(i for i in items["appx-restricted-de"] if i["sk"] == "PROFILE")
    assert all(profile["fields"][f].startswith("appxsk1.de.1.") for f in PLAIN)  # resealed under the subject key


def test_signup_costs_one_rsa_unwrap_and_one_subject_key(world):
    world.signup()  # four sealed fields, one wrapped request key
    assert world.api.app.keys.unwrap_calls == 1
    assert world.api.app.subject_keys.generate_calls == 1 and world.api.app.subject_keys.unwrap_calls == 0


def test_signup_idempotent_retry_returns_same_user(world):
    a = world.signup(idem="signup-key-0001-k7Q2xW9mZp4R")
    b = world.signup(idem="signup-key-0001-k7Q2xW9mZp4R")
    assert a.status == b.status == 201
    assert a.json == b.json and b.headers.get("idempotent-replayed") == "true"
    profiles = [i for i in world.all_items()["appx-restricted-eu"] if i["sk"] == "PROFILE"]
    assert len(profiles) == 1
    # stored record holds no readable token
    assert a.json["token"] not in json.dumps(world.all_items(), default=repr)


def test_idempotency_key_reused_with_other_request_is_422(world):
    world.signup(idem="signup-key-0002-k7Q2xW9mZp4R")
    r = world.request("POST", "/v1/users", {"email": "x@example.org", "name": "X"}, country="FR", idem="signup-key-0002-k7Q2xW9mZp4R")
    problem(r, 422)


def test_bad_idempotency_key_is_400_and_stores_nothing(world):
    before = world.dump()
    problem(world.signup(idem="short"), 400)
    assert world.dump() == before


@pytest.mark.parametrize(
    "body,status",
    [
        ({"email": "a@example.org"}, 422),  # name missing
        ({"email": "a@example.org", "name": "A", "nickname": "x"}, 422),  # unknown field
        ({"email": "a@example.org", "name": "A", "locale": "not a locale!"}, 422),
    ],
)
def test_signup_validation_stores_nothing(world, body, status):
    before = world.dump()
    problem(world.request("POST", "/v1/users", body, country="FR", idem="signup-key-bad1-k7Q2xW9mZp4R"), status)
    assert world.dump() == before


def test_signup_direct_bad_inputs(world):
    """What the edge would normally stop, the API rejects too (defence in depth)."""
    before = world.dump()
    hdr = {"x-appx-zone": "eu", "x-appx-subject": "u_eu_" + "a" * 26, "content-type": "application/json"}
    call = world.call_api
    problem(call("POST", "/v1/users", hdr, b"{not json"), 400)
    problem(call("POST", "/v1/users", {**hdr, "content-type": "text/plain"}, b"{}"), 415)
    problem(call("POST", "/v1/users", hdr, b'{"a":"' + b"x" * 70000 + b'"}'), 413)
    problem(call("POST", "/v1/users", hdr, b"[]"), 400)
    # plaintext restricted fields (bypassing the edge) are refused
    problem(call("POST", "/v1/users", hdr, json.dumps({"email": "a@example.org", "name": "A"}).encode()), 422)
    # missing edge headers
    problem(call("POST", "/v1/users", {"content-type": "application/json"}, b"{}"), 400)
    # a zone this region does not serve
    problem(call("POST", "/v1/users", {**hdr, "x-appx-zone": "fr", "x-appx-subject": "u_fr_" + "a" * 26}, b"{}"), 421)
    # subject from another zone
    problem(call("POST", "/v1/users", {**hdr, "x-appx-subject": "u_de_" + "a" * 26}, b"{}"), 400)
    assert world.dump() == before


def test_signup_ciphertext_from_other_zone_rejected(world, keys):
    """A token sealed for zone de presented as a zone eu sign-up: 422, nothing stored."""
    import sys

    sys.path.insert(0, "functions")
    from appx_common.envelope import Sealer

    subject = "u_eu_" + "b" * 26
    de = keys["zones"]["de"]
    sealed = Sealer("de", de["keyId"], de["private"].public_key()).seal({"email": "a@example.org", "name": "A"}, subject)
    before = world.dump()
    hdr = {"x-appx-zone": "eu", "x-appx-subject": subject, "content-type": "application/json"}
    problem(world.call_api("POST", "/v1/users", hdr, json.dumps(sealed).encode()), 422)
    assert world.dump() == before


def test_signup_conflict_409(world, keys):
    from appx_common.envelope import Sealer

    subject = "u_eu_" + "c" * 26
    eu = keys["zones"]["eu"]
    body = json.dumps(Sealer("eu", eu["keyId"], eu["private"].public_key()).seal({"email": "a@example.org", "name": "A"}, subject)).encode()
    hdr = {"x-appx-zone": "eu", "x-appx-subject": subject, "content-type": "application/json"}
    assert world.call_api("POST", "/v1/users", hdr, body).status == 201
    problem(world.call_api("POST", "/v1/users", hdr, body), 409)


# ---- authentication --------------------------------------------------------------------------
@pytest.mark.parametrize("route", [("GET", "/v1/me"), ("PATCH", "/v1/me"), ("DELETE", "/v1/me"), ("GET", "/v1/me/export"), ("POST", "/v1/posts")])
def test_auth_failures(world, user, route):
    method, path = route
    body = {"text": "x"} if method in ("POST", "PATCH") else None
    uid, secret = user["userId"], user["token"].split(".")[-1]
    forged = f"appx1.{uid}.{'A' * 43}"
    other_zone = f"appx1.u_de_{'a' * 26}.{secret}"
    for token in (None, "garbage", forged, other_zone, f"appx1.u_xx_{'a' * 26}.{secret}"):
        r = world.request(method, path, body, token=token)
        assert r.status == 401, (token, r)
        assert r.headers.get("www-authenticate", "").startswith("Bearer")
    # direct to the API (without edge): same answers
    for token in (None, forged, other_zone):
        hdr = {"authorization": f"Bearer {token}"} if token else {}
        assert world.call_api(method, path, {**hdr, "content-type": "application/json"}, b'{"text":"x"}').status == 401
    # zone header disagreeing with the token
    r = world.call_api(method, path, {"authorization": f"Bearer {user['token']}", "x-appx-zone": "de"}, b"")
    problem(r, 421)


# ---- me --------------------------------------------------------------------------------------
def test_get_me_decrypts(world, user):
    r = world.request("GET", "/v1/me", token=user["token"])
    assert r.status == 200 and r.headers["cache-control"] == "no-store"
    assert r.json["profile"] == PLAIN and r.json["userId"] == user["userId"]
    rsa = world.api.app.keys.unwrap_calls  # the sign-up's one unwrap; reads add none
    world.api.app.subject_keys._cache.clear()  # a cold container
    world.request("GET", "/v1/me", token=user["token"])
    assert world.api.app.subject_keys.unwrap_calls == 1  # one symmetric unwrap of the subject key
    world.request("GET", "/v1/me", token=user["token"])
    assert world.api.app.subject_keys.unwrap_calls == 1 and world.api.app.keys.unwrap_calls == rsa == 1


def test_patch_me_rectification_one_rsa_unwrap(world, user):
    rsa = world.api.app.keys.unwrap_calls
    r = world.request("PATCH", "/v1/me", {"email": "alice@new.example", "phone": None, "locale": "fr-FR"}, token=user["token"])
    assert r.status == 200, r
    assert sorted(r.json["updated"]) == ["email", "locale", "phone"]
    assert world.api.app.keys.unwrap_calls == rsa + 1  # resealed under the subject key
    me = world.request("GET", "/v1/me", token=user["token"]).json
    assert me["profile"] == {"email": "alice@new.example", "name": "Alice Example", "birthDate": "1990-04-01"}
    assert me["locale"] == "fr-FR"


def test_patch_me_bad_inputs_store_nothing(world, user):
    before = world.dump()
    t = user["token"]
    problem(world.request("PATCH", "/v1/me", {}, token=t), 422)
    problem(world.request("PATCH", "/v1/me", {"email": None}, token=t), 422)
    problem(world.request("PATCH", "/v1/me", {"admin": True}, token=t), 422)
    problem(world.request("PATCH", "/v1/me", raw_body=b"{", token=t), 400)
    problem(world.request("PATCH", "/v1/me", {"email": "x@example.org"}, token=t, headers={"content-type": "text/plain"}), 415)
    assert world.dump() == before


def test_patch_idempotent(world, user):
    a = world.request("PATCH", "/v1/me", {"name": "Alice B"}, token=user["token"], idem="patch-key-0001-k7Q2xW9mZp4R")
    b = world.request("PATCH", "/v1/me", {"name": "Alice B"}, token=user["token"], idem="patch-key-0001-k7Q2xW9mZp4R")
    assert a.status == b.status == 200 and a.json == b.json and b.headers.get("idempotent-replayed") == "true"


def test_token_ciphertext_cannot_be_moved_to_another_user(world, user):
    """Bob submits Alice's sealed email as his own, as stored (subject-key token) and as the edge
    sealed it for her (edge token): neither is accepted, nothing is stored."""
    bob = world.signup(email="bob@example.org", name="Bob").json
    alice_profile = next(i for i in world.all_items()["appx-restricted-eu"] if i.get("userId") == user["userId"] and i["sk"] == "PROFILE")
    edge_token = world.edge_seal({"email": "alice@example.org"}, user["userId"], "eu")["email"]
    hdr = {"authorization": f"Bearer {bob['token']}", "content-type": "application/json"}
    before = world.dump()
    for stolen in (alice_profile["fields"]["email"], edge_token):
        r = world.call_api("PATCH", "/v1/me", hdr, json.dumps({"email": stolen}).encode())
        assert r.status == 422, r
    assert world.dump() == before
    assert world.request("GET", "/v1/me", token=bob["token"]).json["profile"]["email"] == "bob@example.org"


# ---- posts and feed ------------------------------------------------------------------------
def test_posts_feed_cache_and_etag(world, user):
    r = world.request("POST", "/v1/posts", {"text": "hello europe"}, token=user["token"])
    assert r.status == 201, r
    post_id = r.json["postId"]
    stored = world.ddb.Table("appx-posts").scan()["Items"][0]
    assert stored["authorId"].startswith("a_") and user["userId"] not in json.dumps(stored, default=repr)
    world.pump_streams()
    feed_items = world.ddb.Table("appx-feed").scan()["Items"]
    assert len(feed_items) == 1 and "authorId" not in feed_items[0]

    g = world.request("GET", f"/v1/posts/{post_id}")
    assert g.status == 200 and g.json == {"postId": post_id, "text": "hello europe", "createdAt": r.json["createdAt"]}
    assert g.headers["cache-control"].startswith("public") and g.headers["etag"]
    assert g.origin == "origin.appx.example.eu"  # public: the edge left the public origin
    assert world.request("GET", f"/v1/posts/{post_id}", headers={"If-None-Match": g.headers["etag"]}).status == 304

    f = world.request("GET", "/v1/feed")
    assert f.status == 200 and [i["postId"] for i in f.json["items"]] == [post_id]
    assert "authorId" not in f.text
    n = world.request("GET", "/v1/feed", headers={"If-None-Match": f.headers["etag"]})
    assert n.status == 304 and n.text == "" and n.headers["etag"] == f.headers["etag"]

    # in-function TTL cache: a second read does not hit the table
    cache = world.api.app.post_cache
    hits = cache.hits
    world.request("GET", f"/v1/posts/{post_id}")
    assert cache.hits == hits + 1


def test_post_bad_inputs(world, user):
    before = world.dump()
    t = user["token"]
    problem(world.request("POST", "/v1/posts", {"text": ""}, token=t), 422)
    problem(world.request("POST", "/v1/posts", {"text": "x" * 1001}, token=t), 422)
    problem(world.request("POST", "/v1/posts", {"text": "x", "authorId": "a_x"}, token=t), 422)
    problem(world.request("POST", "/v1/posts", raw_body=b"nope", token=t), 400)
    problem(world.request("GET", "/v1/posts/not-an-id"), 404)
    problem(world.request("GET", "/v1/posts/p_" + "a" * 26), 404)
    problem(world.request("GET", "/v1/feed", query={"limit": "0"}), 400)
    problem(world.request("GET", "/v1/feed", query={"limit": "abc"}), 400)
    problem(world.request("GET", "/v1/nothing"), 404)
    assert world.dump() == before


def test_post_idempotent(world, user):
    a = world.request("POST", "/v1/posts", {"text": "once"}, token=user["token"], idem="post-key-00001-k7Q2xW9mZp4R")
    b = world.request("POST", "/v1/posts", {"text": "once"}, token=user["token"], idem="post-key-00001-k7Q2xW9mZp4R")
    assert a.status == b.status == 201 and a.json == b.json
    assert len(world.ddb.Table("appx-posts").scan()["Items"]) == 1


# ---- export and erasure ------------------------------------------------------------------------
def test_export_returns_everything_decrypted(world, user):
    t = user["token"]
    world.request("POST", "/v1/posts", {"text": "first"}, token=t)
    world.request("POST", "/v1/posts", {"text": "second"}, token=t)
    r = world.request("GET", "/v1/me/export", token=t)
    assert r.status == 200, r
    doc = r.json
    assert doc["user"]["profile"] == PLAIN and doc["user"]["userId"] == user["userId"]
    assert [p["text"] for p in doc["posts"]] == ["first", "second"]
    assert len(doc["sessions"]) == 1 and "hash" not in json.dumps(doc["sessions"])


def test_erasure_leaves_no_trace(world, user):
    t = user["token"]
    post = world.request("POST", "/v1/posts", {"text": "to be forgotten"}, token=t, idem="post-key-erase1-k7Q2xW9mZp4R").json
    world.request("PATCH", "/v1/me", {"name": "Alice Z"}, token=t, idem="patch-key-erase1-k7Q2xW9mZp4R")
    world.pump_streams()
    # another user's data survives
    bob = world.signup(email="bob@example.org", name="Bob", idem="signup-key-bob1-k7Q2xW9mZp4R").json
    bob_post = world.request("POST", "/v1/posts", {"text": "bob stays"}, token=bob["token"]).json
    world.pump_streams()
    assert world.request("GET", f"/v1/posts/{post['postId']}").status == 200  # warms the cache

    profile = next(i for i in world.all_items()["appx-restricted-eu"] if i.get("userId") == user["userId"] and i["sk"] == "PROFILE")
    author_id, ciphertexts = profile["authorId"], list(profile["fields"].values())
    r = world.request("DELETE", "/v1/me", token=t)
    assert r.status == 204, r
    assert world.finish_erasures()["completed"] == 1

    dump = world.dump()
    profile_items = [i for i in world.all_items()["appx-restricted-eu"] if i["sk"] == "PROFILE"]
    assert [p["userId"] for p in profile_items] == [bob["userId"]]
    for needle in (user["userId"], author_id, post["postId"], "to be forgotten", t.split(".")[-1], *ciphertexts):
        assert needle not in dump
    assert len(world.all_items()["appx-idempotency"]) == 1  # bob's sign-up record only
    # nothing readable through any route
    assert world.request("GET", "/v1/me", token=t).status == 401
    assert world.request("GET", "/v1/me/export", token=t).status == 401
    assert world.request("GET", f"/v1/posts/{post['postId']}").status == 404
    feed = world.request("GET", "/v1/feed").json
    assert [i["postId"] for i in feed["items"]] == [bob_post["postId"]]
    assert world.request("DELETE", "/v1/me", token=t).status == 401
    assert world.request("PATCH", "/v1/me", {"name": "back"}, token=t).status == 401
    assert world.request("POST", "/v1/posts", {"text": "back"}, token=t).status == 401
    assert world.dump() == dump  # the refused writes stored nothing


def test_post_written_as_its_author_is_erased_is_erased_too(world, user, monkeypatch):
    # The post's INSERT record is still in the stream when the erasure's REMOVE is processed,
    # and the byAuthor index has not caught up with it: the sweep finds nothing.
    post = world.request("POST", "/v1/posts", {"text": "written in the same instant"}, token=user["token"]).json
    assert world.request("DELETE", "/v1/me", token=user["token"]).status == 204
    monkeypatch.setattr(world.stream.app.store, "posts_by_author", lambda author_id: [])
    world.pump_streams()

    items = world.all_items()
    assert [i for i in items["appx-posts"] if i.get("postId")] == []
    assert items["appx-feed"] == []
    assert world.request("GET", f"/v1/posts/{post['postId']}").status == 404
    (marker,) = items["appx-posts"]  # the erased-author marker: a hash, expiring
    assert marker["pk"].startswith("ERASED#") and set(marker) == {"pk", "sk", "expiration"}
    assert user["userId"] not in json.dumps(marker, default=str)


# ---- resilience ------------------------------------------------------------------------------
def test_breaker_open_queues_write_and_worker_applies_once(world, user):
    world.api.app.breaker.force_open()
    r = world.request("POST", "/v1/posts", {"text": "queued post"}, token=user["token"])
    assert r.status == 202 and r.json["status"] == "queued" and r.json["requestId"].startswith("r_")
    assert world.ddb.Table("appx-posts").scan()["Items"] == []
    # deliver the same message twice (at-least-once delivery)
    msgs = world.sqs.receive_message(QueueUrl=world.queue_url, MaxNumberOfMessages=10)["Messages"]
    assert len(msgs) == 1
    world.sqs.send_message(QueueUrl=world.queue_url, MessageBody=msgs[0]["Body"])
    world.run_worker()
    posts = world.ddb.Table("appx-posts").scan()["Items"]
    assert len(posts) == 1 and posts[0]["postId"] == r.json["postId"]
    world.pump_streams()
    assert len(world.ddb.Table("appx-feed").scan()["Items"]) == 1


def test_signup_queued_when_store_fails(world, monkeypatch):
    app = world.api.app

    def boom(op):
        raise ClientError({"Error": {"Code": "InternalServerError", "Message": "down"}}, "TransactWriteItems")

    monkeypatch.setattr(app.store, "apply", boom)
    r = world.signup()
    assert r.status == 202 and r.json["status"] == "queued"
    assert app.breaker.failures == 1
    monkeypatch.undo()
    assert world.request("GET", "/v1/me", token=r.json["token"]).status == 401  # not applied yet
    body = world.sqs.receive_message(QueueUrl=world.queue_url)["Messages"][0]["Body"]
    world.sqs.send_message(QueueUrl=world.queue_url, MessageBody=body)  # delivered twice
    assert sum(len(b["batchItemFailures"]) for b in world.run_worker()) == 0  # the duplicate is a no-op, not a conflict
    me = world.request("GET", "/v1/me", token=r.json["token"])
    assert me.status == 200 and me.json["profile"]["email"] == PLAIN["email"]
    assert len([i for i in world.all_items()["appx-restricted-eu"] if i["sk"] == "PROFILE"]) == 1


def test_breaker_opens_after_failures_and_half_opens(world):
    from appx_common.resilience import CircuitBreaker

    clock = world.clock
    b = CircuitBreaker(threshold=3, reset_seconds=10, clock=clock)
    for _ in range(3):
        assert b.allow()
        b.failure()
    assert b.state == "open" and not b.allow()
    clock.advance(11)
    assert b.allow() and not b.allow()  # one trial
    b.success()
    assert b.state == "closed"


def test_queue_unavailable_is_503_with_retry_after(world, user, monkeypatch):
    world.api.app.breaker.force_open()

    def fail(**kw):
        raise ClientError({"Error": {"Code": "ServiceUnavailable", "Message": "x"}}, "SendMessage")

    monkeypatch.setattr(world.api.app._sqs, "send_message", fail)
    r = world.request("POST", "/v1/posts", {"text": "lost?"}, token=user["token"])
    problem(r, 503)
    assert r.headers["retry-after"]


def test_store_down_reads_503_throttled_429(world, user, monkeypatch):
    app = world.api.app

    def down(*a, **k):
        raise ClientError({"Error": {"Code": "InternalServerError", "Message": "x"}}, "Query")

    monkeypatch.setattr(app.store, "user_items", down)
    r = world.request("GET", "/v1/me", token=user["token"])
    problem(r, 503)
    assert r.headers["retry-after"] == "5"

    def throttle(*a, **k):
        raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "x"}}, "Query")

    monkeypatch.setattr(app.store, "user_items", throttle)
    r = world.request("GET", "/v1/me", token=user["token"])
    problem(r, 429)
    assert r.headers["retry-after"]


def test_key_unavailable_503(world, user, monkeypatch):
    from appx_common.keys import KeyUnavailable

    def nokey(*args):
        raise KeyUnavailable("down")

    monkeypatch.setattr(world.api.app.keys.inner, "unwrap", nokey)
    monkeypatch.setattr(world.api.app.keys.inner, "open_subject_key", nokey)
    world.api.app.subject_keys._cache.clear()
    before = world.dump()
    problem(world.request("GET", "/v1/me", token=user["token"]), 503)
    problem(world.request("PATCH", "/v1/me", {"name": "N"}, token=user["token"]), 503)
    assert world.dump() == before


def test_health(world, monkeypatch):
    r = world.request("GET", "/health")
    assert r.status == 200 and r.json["status"] == "ok"
    assert set(r.json["checks"]) == {"posts", "feed", "idempotency", "restricted:eu", "restricted:de", "key:eu", "key:de"}
    world.clock.advance(5)
    world.ddb.meta.client.delete_table(TableName="appx-feed")
    r = world.request("GET", "/health")
    assert r.status == 503 and r.headers["retry-after"] and r.json["checks"]["feed"].startswith("fail")


def test_two_regions_in_one_process(modules, keys, world):
    """make_handler builds independent instances: a second region's API does not share state."""
    from tests.functions.conftest import make_env

    other = modules["api"].make_handler(make_env(keys, world.queue_url, region="eu-west-1"), dynamodb=world.ddb, sqs=world.sqs)
    assert other.app.cfg.region == "eu-west-1" and other.app is not world.api.app
    assert other.app.keys is not world.api.app.keys


@pytest.mark.parametrize("locale", ["en", None])
def test_patch_me_with_only_locale_succeeds(world, user, locale):
    # Regression (found by the e2e fuzz run): an update without restricted fields was a 500.
    r = world.request("PATCH", "/v1/me", {"locale": locale}, token=user["token"])
    assert r.status in (200, 204), r
    me = world.request("GET", "/v1/me", token=user["token"])
    assert me.status == 200 and me.json.get("locale") == locale


def test_unavailable_page_is_a_retryable_problem_document(world):
    # CloudFront serves this page with status 503 when a zone origin is unreachable.
    r = world.request("GET", "/errors/unavailable", via_edge=False)
    assert r.status == 200 and r.headers["content-type"] == "application/problem+json"
    assert r.json["status"] == 503 and r.headers["retry-after"] == "30"


@pytest.mark.parametrize(
    "data,status",
    [
        (b"\xff\xfe{}", 400),  # not UTF-8 (Powertools' decoded_body raised: a 500)
        (b"[" * 60000, 400),  # nesting deep enough for RecursionError, under the size limit
        (b'{"a":' * 5000 + b"1" + b"}" * 5000, 400),
    ],
)
def test_undecodable_bodies_are_400_not_500(world, data, status):
    before = world.dump()
    hdr = {"x-appx-zone": "eu", "x-appx-subject": "u_eu_" + "a" * 26, "content-type": "application/json"}
    problem(world.call_api("POST", "/v1/users", hdr, data), status)
    assert world.dump() == before


@pytest.mark.parametrize("limit", ["²", "١٢", "+5", " 5", "1000", "-1", "5.0"])
def test_feed_limit_non_ascii_digits_are_400(world, limit):
    # "²".isdigit() is True and int("²") raises: this was a 500.
    problem(world.request("GET", "/v1/feed", query={"limit": limit}), 400)


@pytest.mark.parametrize("error", [ClientError({"Error": {"Code": "ValidationException", "Message": "x"}}, "PutItem"), RuntimeError("bug")])
def test_half_open_trial_that_errors_does_not_wedge_the_breaker(world, user, monkeypatch, error):
    """A half-open trial ending in a non-transient error used to leave the trial outstanding:
    the breaker then refused every direct write forever and all writes were queued."""
    app = world.api.app
    app.breaker.force_open()
    world.clock.advance(app.breaker.reset_seconds + 1)

    def fail(op):
        raise error

    monkeypatch.setattr(app.store, "apply", fail)
    problem(world.request("POST", "/v1/posts", {"text": "trial"}, token=user["token"]), 500)
    monkeypatch.undo()
    world.clock.advance(app.breaker.reset_seconds + 1)
    r = world.request("POST", "/v1/posts", {"text": "direct again"}, token=user["token"])
    assert r.status == 201, r
    assert app.breaker.state == "closed"


def test_signup_key_reused_by_another_person_does_not_replay_their_account(world):
    """Same Idempotency-Key, same set of fields, different plaintext: the ciphertexts differ on
    every attempt anyway, so without the edge's body digest this replayed the first person's
    user id and bearer token."""
    first = world.signup(idem="shared-key-0001-k7Q2xW9mZp4R")
    assert first.status == 201
    other = world.signup(email="mallory@example.org", name="Mallory", phone="+33 7 00 00 00 00", birth="1980-01-01", idem="shared-key-0001-k7Q2xW9mZp4R")
    problem(other, 422)
    assert first.json["token"] not in other.text and first.json["userId"] not in other.text
    retry = world.signup(idem="shared-key-0001-k7Q2xW9mZp4R")  # the genuine retry still replays
    assert retry.status == 201 and retry.json == first.json


def test_patch_key_reused_with_other_values_is_422(world, user):
    a = world.request("PATCH", "/v1/me", {"name": "Alice B"}, token=user["token"], idem="patch-key-0002-k7Q2xW9mZp4R")
    assert a.status == 200
    problem(world.request("PATCH", "/v1/me", {"name": "Alice C"}, token=user["token"], idem="patch-key-0002-k7Q2xW9mZp4R"), 422)
    assert world.request("GET", "/v1/me", token=user["token"]).json["profile"]["name"] == "Alice B"


def test_health_is_fast_when_a_dependency_hangs(world, monkeypatch):
    import threading
    import time

    app = world.api.app
    release = threading.Event()
    monkeypatch.setattr(app.keys, "check", lambda zone: release.wait(10))
    try:
        started = time.monotonic()
        r = world.request("GET", "/health")
        elapsed = time.monotonic() - started
    finally:
        release.set()
    assert r.status == 503 and r.headers["retry-after"]
    assert r.json["checks"]["key:eu"] == "fail: timeout" and r.json["checks"]["posts"] == "ok"
    assert elapsed < world.modules["api"].HEALTH_DEADLINE_SECONDS + 0.5, elapsed


def _unwrap_metrics(capsys) -> list:
    out = []
    for line in capsys.readouterr().out.splitlines():
        if line.startswith("{") and '"_aws"' in line:
            doc = json.loads(line)
            if "KeyUnwrapCalls" in doc:
                out.append(doc["KeyUnwrapCalls"])
    return out


def test_rsa_unwrap_metric_only_on_writes_of_sealed_fields(world, capsys):
    """The RSA metric (EMF AppX/KeyUnwrapCalls): one for a sign-up and one for a rectification
    (however many fields), none for posting, reading, exporting or erasing."""
    capsys.readouterr()
    u = world.signup(idem="signup-metric-01-k7Q2xW9mZp4R").json
    t = u["token"]
    assert _unwrap_metrics(capsys) == [[1.0]]
    assert world.request("PATCH", "/v1/me", {"email": "new@example.org", "name": "New"}, token=t).status == 200
    assert _unwrap_metrics(capsys) == [[1.0]]
    assert world.request("POST", "/v1/posts", {"text": "m"}, token=t).status == 201
    world.api.app.subject_keys._cache.clear()  # cold: reads cost a symmetric unwrap, never RSA
    assert world.request("GET", "/v1/me", token=t).status == 200
    assert world.request("GET", "/v1/me/export", token=t).status == 200
    assert world.request("DELETE", "/v1/me", token=t).status == 204
    assert _unwrap_metrics(capsys) == [] and world.api.app.keys.unwrap_calls == 2


def test_head_is_get_without_a_body(world):
    get = world.request("GET", "/v1/feed", via_edge=False)
    head = world.request("HEAD", "/v1/feed", via_edge=False)
    assert head.status == get.status == 200
    assert head.text == "" and head.headers["etag"] == get.headers["etag"]


def test_cached_reads_advertise_only_the_remaining_lifetime(world, user):
    # Downstream caches (CloudFront) must not extend how long an erased post stays readable.
    post_id = world.request("POST", "/v1/posts", {"text": "short-lived"}, token=user["token"]).json["postId"]
    first = world.request("GET", f"/v1/posts/{post_id}")
    assert first.headers["cache-control"] in ("public, max-age=9", "public, max-age=10")  # floor of what is left
    world.clock.advance(7)
    again = world.request("GET", f"/v1/posts/{post_id}")
    age = int(again.headers["cache-control"].rsplit("=", 1)[1])
    assert 0 <= age <= 3
