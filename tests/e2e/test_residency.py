"""Restricted data stays in its zone, as ciphertext; no plaintext anywhere."""

from __future__ import annotations

import json
import uuid

from tests.e2e.conftest import signup


def _region_blob(stack, region: str) -> str:
    return json.dumps(stack.dump_region(region)) + json.dumps(stack.queue_messages(region))


def test_german_signup_stays_in_de_region_as_ciphertext(healthy):
    stack = healthy
    marker = uuid.uuid4().hex[:10]
    email, name, phone = f"hans.{marker}@beispiel.de", f"Hans Müller {marker}", f"+49 30 {marker}"
    user = signup(stack, "DE", email, name, phone=phone)
    assert user["zone"] == "de" and user["userId"].startswith("u_de_")
    assert user["region"] == "eu-central-1"
    assert stack.wait_idle()

    zone_items = [i for i in stack.scan("eu-central-1", "appx-restricted-de") if i.get("userId", {}).get("S") == user["userId"]]
    assert zone_items, "profile not stored in the de zone's region"
    fields = zone_items[0]["fields"]["M"]
    for f in ("email", "name", "phone"):
        assert fields[f]["S"].startswith("appxsk1.de.1."), f"{f} not stored sealed under the subject key"

    for region in ("eu-west-1", "eu-west-3"):
        assert "appx-restricted-de" not in stack.tables(region)
        assert user["userId"] not in _region_blob(stack, region), f"de user found in {region}"

    # Stores, queues, every captured log, and what the dashboard shows (recent requests, events).
    everything = "".join(_region_blob(stack, r) for r in stack.cells) + "".join(stack.logs().values()) + json.dumps(stack.status())
    for plaintext in (email, name, phone, marker):
        assert plaintext not in everything, f"plaintext {plaintext!r} found in a store, log or the dashboard state"

    # The owner still reads it back (decrypted in the zone).
    me = stack.request("GET", "/v1/me", token=user["token"], country="DE")
    assert me.status == 200 and me.json()["profile"]["email"] == email


def test_french_signup_stays_in_eu_zone_and_post_replicates_everywhere(healthy):
    stack = healthy
    marker = uuid.uuid4().hex[:10]
    user = signup(stack, "FR", f"marie.{marker}@exemple.fr", f"Marie {marker}")
    assert user["zone"] == "eu" and user["region"] == "eu-west-3"
    post = stack.request("POST", "/v1/posts", json_body={"text": f"bonjour {marker}"}, token=user["token"], country="FR")
    assert post.status in (201, 202), post.text
    post_id = post.json()["postId"]
    assert stack.wait_idle()

    for region in stack.cells:
        items = [i for i in stack.scan(region, "appx-restricted-eu") if i.get("userId", {}).get("S") == user["userId"]]
        assert items, f"eu profile not replicated to {region}"
        assert "appx-restricted-de" not in stack.tables(region) or region == "eu-central-1"
        de_items = stack.scan(region, "appx-restricted-de") if region == "eu-central-1" else []
        assert user["userId"] not in json.dumps(de_items)
        r = stack.request("GET", f"/v1/posts/{post_id}", region=region)
        assert r.status == 200 and r.json()["text"] == f"bonjour {marker}", (region, r.status)


def test_german_signup_reply_with_idempotency_key_stays_in_eu_central_1(healthy):
    """Issue 11: the sign-up reply (user id and bearer token) of a de user sent with an
    Idempotency-Key leaves nothing derived from it outside eu-central-1; a retry replays it."""
    stack = healthy
    key = str(uuid.uuid4())
    body = {"email": f"idem.{uuid.uuid4().hex[:8]}@beispiel.de", "name": "Idem Test"}
    first = stack.request("POST", "/v1/users", json_body=body, country="DE", headers={"Idempotency-Key": key})
    assert first.status == 201, first.text
    retry = stack.request("POST", "/v1/users", json_body=body, country="DE", headers={"Idempotency-Key": key})
    assert retry.status == 201 and retry.json() == first.json()
    assert stack.wait_idle()
    user_id, secret = first.json()["userId"], first.json()["token"].rsplit(".", 1)[1]
    for region in ("eu-west-1", "eu-west-3"):
        blob = _region_blob(stack, region)
        assert user_id not in blob and secret not in blob, f"sign-up reply found in {region}"
    assert secret not in "".join(_region_blob(stack, r) for r in stack.cells)  # sealed in the zone too
    weak = stack.request("POST", "/v1/users", json_body=body, country="DE", headers={"Idempotency-Key": "signup-4711"})
    assert weak.status == 400 and weak.json()["type"].endswith("/bad-idempotency-key")
