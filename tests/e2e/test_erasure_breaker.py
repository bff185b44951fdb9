"""Erasure reaches every replica and the feed; an open write breaker queues writes (202) that
are applied exactly once later."""

from __future__ import annotations

import json
import time
import uuid

from tests.e2e.conftest import signup


def test_erasure_in_one_region_reaches_every_replica_and_the_feed(healthy):
    stack = healthy
    marker = uuid.uuid4().hex[:10]
    user = signup(stack, "ES", f"lucia.{marker}@ejemplo.es", "Lucía")  # eu zone
    texts = [f"hola {marker} {i}" for i in range(3)]
    post_ids = []
    for t in texts:
        r = stack.request("POST", "/v1/posts", json_body={"text": t}, token=user["token"], country="ES")
        assert r.status == 201
        post_ids.append(r.json()["postId"])
    assert stack.wait_idle()
    for region in stack.cells:
        assert marker in json.dumps(stack.scan(region, "appx-feed"))
    # Readers warm every cache on the way: each region's in-function post cache and the edge's.
    warm = [stack.request("GET", f"/v1/posts/{post_ids[0]}", region=region) for region in stack.cells]
    warm.append(stack.request("GET", f"/v1/posts/{post_ids[0]}", country="ES"))
    assert all(w.status == 200 for w in warm), [w.status for w in warm]
    max_age = int(warm[-1].headers["cache-control"].split("max-age=")[1].split(",")[0])

    r = stack.request("DELETE", "/v1/me", token=user["token"], country="ES")
    assert r.status in (202, 204), r.text
    erased_in = r.region
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        stack.wait_idle()
        blobs = {reg: json.dumps(stack.dump_region(reg)) for reg in stack.cells}
        if not any(user["userId"] in b or marker in b for b in blobs.values()):
            break
        time.sleep(0.2)
    for region, blob in blobs.items():
        assert user["userId"] not in blob, f"subject still in {region} (erased in {erased_in})"
        assert marker not in blob, f"posts/feed of the subject still in {region}"
    assert stack.request("GET", "/v1/me", token=user["token"], country="ES").status == 401

    # Warm caches may serve the post until their max-age runs out (the API's documented bounded
    # staleness); the API advertises only its own copy's remaining lifetime, so the edge's copy
    # expires with it. Then it is gone everywhere.
    def served() -> dict:
        out = {region: stack.request("GET", f"/v1/posts/{post_ids[0]}", region=region).status for region in stack.cells}
        out["edge"] = stack.request("GET", f"/v1/posts/{post_ids[0]}", country="ES").status
        return out

    deadline = time.monotonic() + max_age + 2
    statuses = served()
    while any(code != 404 for code in statuses.values()) and time.monotonic() < deadline:
        time.sleep(0.5)
        statuses = served()
    assert all(code == 404 for code in statuses.values()), f"erased post still served {max_age + 2}s later: {statuses}"


def test_open_breaker_queues_writes_applied_exactly_once(healthy):
    stack = healthy
    marker = uuid.uuid4().hex[:10]
    user = signup(stack, "FR", f"paul.{marker}@exemple.fr", "Paul")
    region = user["region"]
    stack.fault("breaker-open", region)
    stack.fault("duplicate-delivery", region)  # SQS is at-least-once: the worker gets the message twice
    assert _region(stack, region)["breaker"] == "open"
    redeliveries = _region(stack, region)["stats"].get("worker_redeliveries", 0)

    key = f"idem-{uuid.uuid4()}"  # 22+ characters (docs/token-format.md)
    first = stack.request("POST", "/v1/posts", json_body={"text": f"queued {marker}"}, token=user["token"], country="FR",
                          headers={"Idempotency-Key": key})
    assert first.status == 202, first.text
    again = stack.request("POST", "/v1/posts", json_body={"text": f"queued {marker}"}, token=user["token"], country="FR",
                          headers={"Idempotency-Key": key})
    assert again.status == 202 and again.json()["postId"] == first.json()["postId"]
    post_id = first.json()["postId"]

    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and stack.request("GET", f"/v1/posts/{post_id}", region=region).status != 200:
        time.sleep(0.2)
    while time.monotonic() < deadline and _region(stack, region)["stats"].get("worker_redeliveries", 0) == redeliveries:
        time.sleep(0.2)
    assert _region(stack, region)["stats"].get("worker_redeliveries", 0) > redeliveries, "the queued write was not redelivered"
    assert stack.wait_idle()
    for r in stack.cells:
        posts = [i for i in stack.scan(r, "appx-posts") if marker in json.dumps(i)]
        feed = [i for i in stack.scan(r, "appx-feed") if marker in json.dumps(i)]
        assert len(posts) == 1 and len(feed) == 1, (r, posts, feed)


def _region(stack, region: str) -> dict:
    return next(r for r in stack.status()["regions"] if r["region"] == region)
