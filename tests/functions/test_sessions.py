"""Bearer sessions: lifetimes (absolute and idle, on an injected clock), rotation, revocation of
one session or all, the cap per user, and nothing about a secret stored."""

from __future__ import annotations

import hashlib
import json

import pytest

from tests.functions.test_api import problem

DAY = 86400


@pytest.fixture
def user(world):
    r = world.signup()
    assert r.status == 201, r
    return r.json


def me(world, token):
    return world.request("GET", "/v1/me", token=token)


def refused(world, token, kind: str, **members):
    doc = problem(me(world, token), 401)
    assert doc["type"].endswith("/problems/" + kind), doc
    for name, value in members.items():
        assert doc[name] == value, doc
    return doc


def session_items(world, user_id):
    return [i for i in world.all_items()["appx-restricted-eu"] if i["pk"] == f"USER#{user_id}" and i["sk"].startswith("SESSION#")]


def traces_of(token: str) -> list[str]:
    """Everything a store could hold that is derived from a token's secret."""
    secret = token.rsplit(".", 1)[1]
    return [secret, token, hashlib.sha256(secret.encode()).hexdigest()]


def test_signup_issues_a_session_with_both_lifetimes(world, user):
    assert user["token"].startswith(f"appx2.{user['userId']}.{user['sessionId']}.")
    [item] = session_items(world, user["userId"])
    assert int(item["expiresAtS"]) - int(item["createdAtS"]) == 30 * DAY
    # DynamoDB TTL removes the record a week after it can no longer be used (idle, here).
    assert int(item["expiration"]) == int(item["lastUsedAtS"]) + 7 * DAY + 7 * DAY
    assert item["hash"] == hashlib.sha256(user["token"].rsplit(".", 1)[1].encode()).hexdigest()


def test_idle_lifetime(world, user):
    world.clock.advance(7 * DAY - 60)
    assert me(world, user["token"]).status == 200  # used: the idle clock restarts
    world.clock.advance(7 * DAY - 60)
    assert me(world, user["token"]).status == 200
    world.clock.advance(7 * DAY + 1)
    refused(world, user["token"], "token-expired", expiry="idle")
    assert problem(world.request("GET", "/v1/me/sessions", token=user["token"]), 401)["expiry"] == "idle"


def test_absolute_lifetime_however_often_used(world, user):
    for _ in range(4):  # used every 6 days: never idle
        world.clock.advance(6 * DAY)
        assert me(world, user["token"]).status == 200
    world.clock.advance(6 * DAY - 10)
    assert me(world, user["token"]).status == 200  # 29 days 23:59:50
    world.clock.advance(11)
    refused(world, user["token"], "token-expired", expiry="absolute")


def test_rotation_revokes_the_old_token_at_once_and_forgets_its_secret(world, user):
    old = user["token"]
    r = world.request("POST", "/v1/me/token:rotate", token=old)
    assert r.status == 201, r
    new = r.json["token"]
    assert new != old and r.json["sessionId"] != user["sessionId"] and r.json["current"] is True
    assert r.headers["cache-control"] == "no-store"
    refused(world, old, "token-revoked", reason="rotated")
    assert me(world, new).status == 200
    dump = world.dump()
    for trace in traces_of(old):
        assert trace not in dump
    old_item = next(i for i in session_items(world, user["userId"]) if i["sessionId"] == user["sessionId"])
    assert "hash" not in old_item and "exportKey" not in old_item and old_item["revokedReason"] == "rotated"
    # A second rotation with the old token cannot fork the session.
    refused(world, old, "token-revoked")
    problem(world.request("POST", "/v1/me/token:rotate", token=old), 401)


def test_revoke_one_session(world, user):
    second = world.request("POST", "/v1/me/sessions", token=user["token"])
    assert second.status == 201, second
    assert me(world, second.json["token"]).status == 200
    r = world.request("DELETE", f"/v1/me/sessions/{second.json['sessionId']}", token=user["token"])
    assert r.status == 204, r
    refused(world, second.json["token"], "token-revoked", reason="revoked")
    assert me(world, user["token"]).status == 200
    # idempotent; unknown ids are 404
    assert world.request("DELETE", f"/v1/me/sessions/{second.json['sessionId']}", token=user["token"]).status == 204
    problem(world.request("DELETE", "/v1/me/sessions/s_" + "a" * 26, token=user["token"]), 404)
    for trace in traces_of(second.json["token"]):
        assert trace not in world.dump()
    # its own session too
    assert world.request("DELETE", f"/v1/me/sessions/{user['sessionId']}", token=user["token"]).status == 204
    refused(world, user["token"], "token-revoked", reason="revoked")


def test_revoke_all(world, user):
    others = [world.request("POST", "/v1/me/sessions", token=user["token"]).json["token"] for _ in range(3)]
    assert world.request("DELETE", "/v1/me/sessions", token=user["token"]).status == 204
    for token in [user["token"], *others]:
        refused(world, token, "token-revoked", reason="revoked-all")
    dump = world.dump()
    for token in [user["token"], *others]:
        for trace in traces_of(token):
            assert trace not in dump
    # Only a new sign-up gets in again; the revoked records stay bounded and expire by TTL.
    for item in session_items(world, user["userId"]):
        assert "hash" not in item and int(item["expiration"]) == int(item["revokedAtS"]) + 7 * DAY


def test_listing_and_export_show_metadata_only(world, user):
    second = world.request("POST", "/v1/me/sessions", token=user["token"]).json
    world.request("DELETE", f"/v1/me/sessions/{second['sessionId']}", token=user["token"])
    listing = world.request("GET", "/v1/me/sessions", token=user["token"])
    assert listing.status == 200 and listing.headers["cache-control"] == "no-store"
    sessions = {s["sessionId"]: s for s in listing.json["sessions"]}
    assert sessions[user["sessionId"]]["status"] == "active" and sessions[user["sessionId"]]["current"] is True
    assert sessions[second["sessionId"]]["status"] == "revoked" and sessions[second["sessionId"]]["revokedReason"] == "revoked"
    exported = world.request("GET", "/v1/me/export", token=user["token"]).json["sessions"]
    assert exported == listing.json["sessions"]
    items = session_items(world, user["userId"])
    shown = listing.text + json.dumps(exported)
    for item in items:
        for secret_field in ("hash", "exportKey"):
            if secret_field in item:
                assert item[secret_field] not in shown
    for trace in traces_of(user["token"]) + traces_of(second["token"]):
        assert trace not in shown


def test_sessions_per_user_stay_bounded(world, user):
    """A user who opens a session every day for years keeps at most 10 live and 10 revoked."""
    current = user["token"]
    for _ in range(40):
        world.clock.advance(DAY)
        opened = world.request("POST", "/v1/me/sessions", token=current)
        assert opened.status == 201, opened
        rotated = world.request("POST", "/v1/me/token:rotate", token=opened.json["token"])  # and rotates it
        assert rotated.status == 201, rotated
        current = rotated.json["token"]
    items = session_items(world, user["userId"])
    live = [i for i in items if "hash" in i]
    assert len(live) <= 10 and len(items) <= 20, (len(live), len(items))


def test_cap_evicts_least_recently_used(world, user):
    opened = [world.request("POST", "/v1/me/sessions", token=user["token"]).json["token"] for _ in range(9)]
    assert len([i for i in session_items(world, user["userId"]) if "hash" in i]) == 10
    world.clock.advance(3600)
    for t in opened[1:]:
        assert me(world, t).status == 200  # opened[0] is now the least recently used
    assert me(world, user["token"]).status == 200
    eleventh = world.request("POST", "/v1/me/sessions", token=user["token"])
    assert eleventh.status == 201
    refused(world, opened[0], "token-revoked", reason="evicted")
    assert me(world, eleventh.json["token"]).status == 200
    assert len([i for i in session_items(world, user["userId"]) if "hash" in i]) == 10


def test_cap_never_evicts_the_callers_own_session(world, user):
    """Within the hour use is not recorded, so the caller's session looks least recently used."""
    for _ in range(15):
        assert world.request("POST", "/v1/me/sessions", token=user["token"]).status == 201
    assert me(world, user["token"]).status == 200


def test_erasure_removes_sessions(world, user):
    rotated = world.request("POST", "/v1/me/token:rotate", token=user["token"]).json["token"]
    assert world.request("DELETE", "/v1/me", token=rotated).status == 204
    assert session_items(world, user["userId"]) == []
    problem(me(world, rotated), 401)


def test_use_is_recorded_at_most_hourly(world, user):
    [before] = session_items(world, user["userId"])
    world.clock.advance(600)
    assert me(world, user["token"]).status == 200
    [unchanged] = session_items(world, user["userId"])
    assert unchanged["lastUsedAtS"] == before["lastUsedAtS"]  # no write per request
    world.clock.advance(3600)
    assert me(world, user["token"]).status == 200
    [touched] = session_items(world, user["userId"])
    assert int(touched["lastUsedAtS"]) > int(before["lastUsedAtS"]) + 3600


def test_configured_lifetimes_and_config_errors(world, modules):
    from appx_common.config import EnvError

    world.api = modules["api"].make_handler({**world.env, "APPX_SESSION_ABSOLUTE_SECONDS": "7200", "APPX_SESSION_IDLE_SECONDS": "600"},
                                            dynamodb=world.ddb, sqs=world.sqs, clock=world.clock)
    token = world.signup().json["token"]
    world.clock.advance(601)
    refused(world, token, "token-expired", expiry="idle")
    for bad in ({"APPX_SESSION_IDLE_SECONDS": "900", "APPX_SESSION_ABSOLUTE_SECONDS": "600"}, {"APPX_SESSION_IDLE_SECONDS": "soon"},
                {"APPX_SESSIONS_PER_USER": "0"}):
        with pytest.raises(EnvError, match="APPX_SESSION"):
            modules["api"].make_handler({**world.env, **bad}, dynamodb=world.ddb, sqs=world.sqs, clock=world.clock)
