"""A scripted scenario against the running local stack, told as it happens.

    bash scripts/run-local.sh           # in one terminal
    .venv/bin/python -m tools.demo      # in another (or: python -m tools.demo --start)

Sign-ups from several countries, posts, eu-central-1 going down and coming back, an erasure.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import uuid
from pathlib import Path

from tools.local.client import LocalStack

DOWN = "eu-central-1"


def say(text: str = "") -> None:
    print(text, flush=True)


def step(n: int, title: str) -> None:
    say(f"\n── {n}. {title} " + "─" * max(0, 60 - len(title)))


def where_is(stack: LocalStack, needle: str) -> list[str]:
    found = []
    for region in stack.cells:
        for table, items in stack.dump_region(region).items():
            if needle in json.dumps(items):
                found.append(f"{region}/{table}")
    return found


def run(stack: LocalStack) -> int:
    marker = uuid.uuid4().hex[:6]
    state = stack.status()
    step(1, "Topology (from residency.yaml and the Pulumi stack files)")
    for z in state["zones"]:
        say(f"  zone {z['zone']:<3} regions {', '.join(z['regions']):<38} origin {z['originHost']}")
    say(f"  health checks: every {state['settings']['healthIntervalSeconds']}s, threshold {state['settings']['healthThreshold']},"
        f" TTL {state['settings']['dnsTtlSeconds']}s → detection ≤ {state['settings']['detectionWindowSeconds']:.1f}s")

    step(2, "Sign-ups from four countries (country from CloudFront-Viewer-Country)")
    people = {"DE": ("Hans", "hans"), "FR": ("Marie", "marie"), "IE": ("Siobhán", "siobhan"), "PL": ("Piotr", "piotr")}
    users = {}
    for country, (name, login) in people.items():
        r = stack.request("POST", "/v1/users", json_body={"email": f"{login}.{marker}@example.eu", "name": f"{name} {marker}"}, country=country)
        if r.status != 201:
            say(f"  {country}: sign-up failed {r.status} {r.text[:200]}")
            return 1
        users[country] = r.json()
        say(f"  {country} {name:<8} → zone {users[country]['zone']:<3} served by {r.region:<13} user id {users[country]['userId'][:16]}…")
    r = stack.request("POST", "/v1/users", json_body={"email": f"sam.{marker}@example.com", "name": "Sam"}, country="US")
    say(f"  US Sam      → {r.status} ({r.cache}): countries outside the map are refused by CloudFront's geo restriction")
    stack.wait_idle()

    step(3, "Where the German's restricted data lives")
    de = users["DE"]
    say(f"  stored in: {', '.join(where_is(stack, de['userId']))}  (the de zone has one region)")
    item = next(i for i in stack.scan(DOWN, "appx-restricted-de") if i.get("userId", {}).get("S") == de["userId"])
    say(f"  email at rest: {item['fields']['M']['email']['S'][:48]}…  (sealed at the edge)")
    me = stack.request("GET", "/v1/me", token=de["token"], country="DE")
    say(f"  the owner reads it back decrypted: {me.json()['profile']['email']}")
    fr = users["FR"]
    say(f"  the French profile (zone eu) is in: {', '.join(where_is(stack, fr['userId']))}")

    step(4, "Posts, and the public feed from every region")
    post_ids = []
    for country in ("FR", "IE", "PL"):
        r = stack.request("POST", "/v1/posts", json_body={"text": f"hello from {country} ({marker})"}, token=users[country]["token"], country=country)
        post_ids.append(r.json()["postId"])
        say(f"  {country} posts → {r.status} in {r.region}")
    stack.wait_idle()
    for region in stack.cells:
        r = stack.request("GET", f"/v1/posts/{post_ids[0]}", region=region)
        say(f"  {region:<13} has {post_ids[0][:12]}…: {r.status}")
    a = stack.request("GET", "/v1/feed?limit=5", country="IE")
    b = stack.request("GET", "/v1/feed?limit=5", country="IE")
    say(f"  GET /v1/feed twice at the edge: {a.cache} then {b.cache} (Cache-Control: {b.headers.get('cache-control')})")

    step(5, f"{DOWN} goes down")
    stack.fault("down", DOWN)
    t0 = time.monotonic()
    say(f"  fault injected at t=0")
    feed_ok = eu_ok = de_503 = None
    statuses = []
    while time.monotonic() - t0 < 30 and (eu_ok is None or de_503 is None):
        f = stack.request("GET", f"/v1/posts/{post_ids[1]}?t={time.monotonic()}", country="DE")
        if f.status == 200 and feed_ok is None:
            feed_ok = time.monotonic() - t0
            say(f"  t={feed_ok:4.1f}s public read OK via {f.region} (origin group failover: {f.cache})")
        w = stack.request("POST", "/v1/posts", json_body={"text": f"still here ({marker})"}, token=users["PL"]["token"], country="PL")
        statuses.append(w.status)
        if w.status in (201, 202) and eu_ok is None:
            eu_ok = time.monotonic() - t0
            say(f"  t={eu_ok:4.1f}s Polish user (zone eu) writes again → {w.status} in {w.region} (after {statuses.count(503)} × 503 Retry-After)")
        d = stack.request("GET", "/v1/me", token=de["token"], country="DE")
        if d.status == 503 and de_503 is None:
            de_503 = time.monotonic() - t0
            say(f"  t={de_503:4.1f}s German user (zone de, single region) → 503, Retry-After: {d.headers.get('retry-after')} (documented degraded mode)")
        time.sleep(0.1)
    st = stack.status()
    say("  health: " + ", ".join(f"{r['region']} {'healthy' if r['health']['healthy'] else 'UNHEALTHY'}" for r in st["regions"]))

    step(6, f"{DOWN} recovers")
    stack.fault("recover", DOWN)
    t1 = time.monotonic()
    stack.wait_idle(30)
    while time.monotonic() - t1 < 30 and not all(r["health"]["healthy"] for r in stack.status()["regions"]):
        time.sleep(0.2)
    say(f"  healthy again after {time.monotonic() - t1:.1f}s; replication backlog drained")
    d = stack.request("GET", "/v1/me", token=de["token"], country="DE")
    say(f"  German user reads their profile again: {d.status}")
    missing = [p for p in post_ids if stack.request("GET", f"/v1/posts/{p}", region=DOWN).status != 200]
    say(f"  posts written before the outage present in {DOWN}: {len(post_ids) - len(missing)}/{len(post_ids)}")

    step(7, "Erasure (Art. 17): the French user deletes their account")
    r = stack.request("DELETE", "/v1/me", token=fr["token"], country="FR")
    say(f"  DELETE /v1/me → {r.status} in {r.region}")
    say(f"  GET /v1/me with the old token → {stack.request('GET', '/v1/me', token=fr['token'], country='FR').status}")
    # The subject key is shredded at once; the erasure job then clears the rest and is verified only
    # after its settle window (index propagation, replication), so give it a bounded while.
    t2 = time.monotonic()
    left = where_is(stack, fr["userId"])
    while left and time.monotonic() - t2 < 60:  # the sweeper runs every 30 s here (5 min x time scale 0.1)
        time.sleep(0.5)
        stack.wait_idle()
        left = where_is(stack, fr["userId"])
    say(f"  subject left in any region's stores after {time.monotonic() - t2:.1f}s: {', '.join(left) if left else 'none'}"
        + ("" if left else " (erasure job verified complete)"))
    posts_left = [r for r in stack.cells if post_ids[0] in json.dumps(stack.scan(r, "appx-posts"))]
    feeds_left = [r for r in stack.cells if post_ids[0] in json.dumps(stack.scan(r, "appx-feed"))]
    say(f"  their post left in appx-posts: {', '.join(posts_left) or 'nowhere'}; in a regional feed: {', '.join(feeds_left) or 'nowhere'}")
    say("\nDone. The dashboard shows the same story: " + stack.state.get("dashboard", stack.edge + "/_control/"))
    return 0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m tools.demo", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--state-dir", type=Path, default=None, help="of the running stack (default .local-runtime/)")
    p.add_argument("--start", action="store_true", help="start a private stack for the demo and stop it afterwards")
    args = p.parse_args(argv)
    if args.start:
        say("starting a private local stack…")
        stack = LocalStack.start()
    else:
        stack = LocalStack.attach(args.state_dir)
    try:
        return run(stack)
    finally:
        if args.start:
            stack.stop()


if __name__ == "__main__":
    sys.exit(main())
