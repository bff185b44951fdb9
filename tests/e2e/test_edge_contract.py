"""The local edge enforces what CloudFront and the WAF enforce, with the real functions behind it."""

from __future__ import annotations

import json
import uuid

import pytest

from tests.e2e.conftest import signup


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
