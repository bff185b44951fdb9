"""The local edge enforces what CloudFront and the WAF enforce, with the real functions behind it."""

from __future__ import annotations

import json
import uuid

import pytest

from tests.e2e.conftest import CORS_ORIGIN, signup


@pytest.mark.parametrize("country", ["US", "CN"])
def test_a_country_outside_the_whitelist_gets_cloudfronts_403(healthy, country):
    stack = healthy
    for method, path, body in (("GET", "/v1/feed", None), ("POST", "/v1/users", {"email": "sam@example.com", "name": "Sam"})):
        r = stack.request(method, path, json_body=body, country=country)
        assert r.status == 403 and r.cache == "Error", (r.status, r.text)
        assert "block access from your country" in r.text and r.region is None  # no origin reached
    assert stack.request("GET", "/v1/feed", country="NO").status == 200  # an EEA country in the map


def test_one_body_limit_one_answer(healthy):
    stack = healthy
    user = signup(stack, "FR", f"lim.{uuid.uuid4().hex[:8]}@example.fr", "Lim")
    over = stack.request("POST", "/v1/posts", body=b'{"text":"' + b"x" * (64 * 1024) + b'"}', token=user["token"],
                         headers={"Content-Type": "application/json"}, country="FR")
    problem = json.loads(over.body)
    assert (over.status, problem["status"]) == (413, 413) and problem["type"].endswith("/body-too-large")
    assert over.headers["strict-transport-security"] and over.region is None


def test_sign_up_and_profile_change_pass_cloudfronts_validation(healthy):
    stack = healthy
    user = signup(stack, "DE", f"val.{uuid.uuid4().hex[:8]}@beispiel.de", "Val")
    r = stack.request("PATCH", "/v1/me", json_body={"email": f"neu.{uuid.uuid4().hex[:8]}@beispiel.de"}, token=user["token"], country="DE")
    assert r.status == 200 and r.cache != "LambdaValidationError", (r.status, r.headers.get("x-cache"), r.text)
    assert r.headers["cache-control"] == "no-store" and r.headers["x-frame-options"] == "DENY"
    surrogate = stack.request("POST", "/v1/posts", body=b'{"text": "\\ud800"}', token=user["token"],
                              headers={"Content-Type": "application/json"}, country="DE")
    assert surrogate.status == 400 and "surrogate" in json.loads(surrogate.body)["detail"]


def test_the_edges_own_problems_carry_the_apis_cors_grant_for_an_allowed_origin_only(healthy):
    """A browser on an allowed origin can read why the edge function refused it (401 without a
    token, 415 for a body that is not JSON), with the API's rules: that exact origin, Vary:
    Origin; another origin gets no grant. The API grants the same origin (one list, both places)."""
    stack = healthy
    user = signup(stack, "FR", f"cors.{uuid.uuid4().hex[:8]}@example.fr", "Cors")
    for origin, granted in ((CORS_ORIGIN, True), ("https://evil.example", False)):
        r = stack.request("GET", "/v1/me", headers={"Origin": origin})
        assert r.status == 401 and r.cache == "LambdaGeneratedResponse", (r.status, r.cache, r.text)
        assert r.json()["type"].endswith("/unauthorized") and r.headers["vary"] == "Origin"
        assert r.headers.get("access-control-allow-origin") == (origin if granted else None), r.headers
        if granted:
            assert "WWW-Authenticate" in r.headers["access-control-expose-headers"]
        plain = stack.request("POST", "/v1/posts", body=b'{"text": "hi"}', token=user["token"], headers={"Origin": origin, "Content-Type": "text/plain"})
        assert plain.status == 415 and plain.cache == "LambdaGeneratedResponse", (plain.status, plain.text)
        assert plain.headers.get("access-control-allow-origin") == (origin if granted else None)
        api = stack.request("GET", "/v1/me", token=user["token"], country="FR", headers={"Origin": origin})
        assert api.status == 200 and api.headers.get("access-control-allow-origin") == (origin if granted else None)
        assert "credentials" not in " ".join(api.headers) + " ".join(r.headers)  # no credentials mode anywhere
    # CloudFront's own geo 403 runs no function: no grant, as on AWS (docs/api/operations.md).
    geo = stack.request("GET", "/v1/me", country="US", headers={"Origin": CORS_ORIGIN})
    assert geo.status == 403 and geo.cache == "Error" and "access-control-allow-origin" not in geo.headers


def test_public_reads_keep_each_origins_cors_answer_apart_in_the_cache(healthy):
    """The default behaviour forwards only its cache key's headers, so the public origin sees the
    viewer's Origin because it is in the key; an allowed origin's grant is cached for it alone,
    and another origin (or none) never gets it from the cache. Preflights reach the API too."""
    stack = healthy
    path = f"/v1/feed?limit=3&n={uuid.uuid4().hex[:8]}"  # a fresh cache entry
    granted = stack.request("GET", path, headers={"Origin": CORS_ORIGIN})
    assert granted.status == 200 and granted.cache == "Miss" and granted.headers.get("access-control-allow-origin") == CORS_ORIGIN
    assert granted.headers["vary"] == "Origin"
    cached = stack.request("GET", path, headers={"Origin": CORS_ORIGIN})
    assert cached.cache == "Hit" and cached.headers.get("access-control-allow-origin") == CORS_ORIGIN
    for other in ({"Origin": "https://evil.example"}, {}):
        for expected in ("Miss", "Hit"):  # each origin has its own entry
            r = stack.request("GET", path, headers=other)
            assert r.status == 200 and r.cache == expected and "access-control-allow-origin" not in r.headers, (other, r.cache, r.headers)
    # CloudFront answers a matching If-None-Match itself, right after a miss too.
    fresh = f"/v1/feed?limit=3&n={uuid.uuid4().hex[:8]}"
    etag = stack.request("GET", fresh, headers={"Origin": CORS_ORIGIN}).headers["etag"]
    again = stack.request("GET", fresh + "&again=1", headers={"Origin": CORS_ORIGIN, "If-None-Match": etag})
    assert again.status == 304 and again.cache == "Miss" and not again.body
    preflight = stack.request("OPTIONS", "/v1/feed", headers={"Origin": CORS_ORIGIN, "Access-Control-Request-Method": "GET",
                                                               "Access-Control-Request-Headers": "if-none-match"})
    assert preflight.status in (200, 204) and preflight.headers.get("access-control-allow-origin") == CORS_ORIGIN, (preflight.status, preflight.headers)
    assert "GET" in preflight.headers["access-control-allow-methods"]
