"""Erasure is final on the local runtime: a queued sign-up redelivered after the erasure, writes
waiting in the queue and the DLQ, and a stream consumer failing past its retries all leave
nothing of the subject behind."""

from __future__ import annotations

import json
import time
import uuid


from tests.e2e.conftest import signup, storage, wait_erased
from tools.redrive import main as redrive_main

DROPPED = "write for an erased subject dropped"


def _region(stack, region: str) -> dict:
    return next(r for r in stack.status()["regions"] if r["region"] == region)


def _sqs(stack, region: str):
    return storage(stack, "sqs", region)


def _queue_urls(stack, region: str) -> tuple[str, str]:
    urls = _sqs(stack, region).list_queues()["QueueUrls"]
    return next(u for u in urls if u.endswith("appx-deferred-writes")), next(u for u in urls if u.endswith("-dlq"))


def _dropped(stack) -> int:
    return sum(text.count(DROPPED) for path, text in stack.logs().items() if path.endswith("worker.log"))


def _dropped_since(stack, before: int, expected: int, timeout_s: float) -> int:
    """How many writes were dropped since `before`, once `expected` were or the time ran out."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and _dropped(stack) - before < expected:
        time.sleep(0.2)
    return _dropped(stack) - before


def _assert_nothing_left(blobs: dict[str, str], needles: list[str]) -> None:
    for where, blob in blobs.items():
        assert '"ERASURE-JOB"' not in blob, f"an erasure job is still pending in {where}"
        for needle in needles:
            assert needle not in blob, f"{needle!r} still stored in {where}: {blob[blob.index(needle) - 300:][:600]}"


def test_queued_signup_redelivered_after_erasure_stays_erased(healthy):
    stack = healthy
    marker = uuid.uuid4().hex[:10]
    stack.fault("breaker-open")
    stack.fault("worker-paused")
    r = stack.request("POST", "/v1/users", json_body={"email": f"ana.{marker}@exemplo.pt", "name": f"Ana {marker}"}, country="PT")
    assert r.status == 202, r.text
    user, region = r.json(), r.region
    # SQS is at-least-once: keep a copy of the queued sign-up to deliver it again after the erasure.
    sqs = _sqs(stack, region)
    queue, _ = _queue_urls(stack, region)
    [message] = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=1)["Messages"]
    sqs.change_message_visibility(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0)
    stack.fault("recover")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and stack.request("GET", "/v1/me", token=user["token"], country="PT").status != 200:
        time.sleep(0.1)
    assert stack.request("GET", "/v1/me", token=user["token"], country="PT").status == 200
    erased = stack.request("DELETE", "/v1/me", token=user["token"], country="PT")
    assert erased.status == 204, erased.text
    before = _dropped(stack)

    sqs.send_message(QueueUrl=queue, MessageBody=message["Body"])  # the redelivery
    assert _dropped_since(stack, before, 1, timeout_s=15) == 1, "the redelivered sign-up was not dropped"
    assert stack.request("GET", "/v1/me", token=user["token"], country="PT").status == 401
    _assert_nothing_left(wait_erased(stack, [user["userId"], marker]), [user["userId"], marker])
    assert stack.request("GET", "/v1/me", token=user["token"], country="PT").status == 401


def test_writes_queued_and_in_the_dlq_are_not_applied_after_erasure(healthy):
    stack = healthy
    marker = uuid.uuid4().hex[:10]
    user = signup(stack, "FR", f"marie.{marker}@exemple.fr", "Marie")
    region = user["region"]
    other = next(r for r in stack.cells if r != region and "eu" in _region(stack, r)["zones"])
    stack.fault("breaker-open", region)
    stack.fault("worker-paused", region)
    texts = [f"queued {marker} {i}" for i in range(3)]
    for text in texts:
        r = stack.request("POST", "/v1/posts", json_body={"text": text}, token=user["token"], region=region)
        assert r.status == 202, r.text
    r = stack.request("PATCH", "/v1/me", json_body={"locale": "fr-FR"}, token=user["token"], region=region)
    assert r.status == 202, r.text
    # Two of them failed their receives and wait in the DLQ (as after maxReceiveCount).
    sqs = _sqs(stack, region)
    queue, dlq = _queue_urls(stack, region)
    moved = 0
    while moved < 2:
        for m in sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=2 - moved).get("Messages", []):
            sqs.send_message(QueueUrl=dlq, MessageBody=m["Body"])
            sqs.delete_message(QueueUrl=queue, ReceiptHandle=m["ReceiptHandle"])
            moved += 1
    before = _dropped(stack)

    assert stack.wait_idle()
    erased = stack.request("DELETE", "/v1/me", token=user["token"], region=other)  # another cell of the zone
    assert erased.status == 204, erased.text
    assert stack.wait_idle()
    stack.fault("recover", region)  # the worker consumes the queued writes
    time.sleep(4)  # the paused receives' visibility timeout (3 s) runs out
    assert redrive_main(["--dlq", dlq, "--queue", queue, "--region", region], sqs=sqs) == 0

    assert _dropped_since(stack, before, 4, timeout_s=20) == 4, "every queued and redriven write of the erased subject is dropped"
    _assert_nothing_left(wait_erased(stack, [user["userId"], marker]), [user["userId"], marker])
    assert stack.request("GET", "/v1/me", token=user["token"], country="FR").status == 401


def test_erasure_job_completes_when_the_stream_consumer_fails_past_its_retries(healthy):
    stack = healthy
    marker = uuid.uuid4().hex[:10]
    user = signup(stack, "ES", f"pablo.{marker}@ejemplo.es", "Pablo")
    for i in range(2):
        r = stack.request("POST", "/v1/posts", json_body={"text": f"stream {marker} {i}"}, token=user["token"], country="ES")
        assert r.status == 201, r.text
    assert stack.wait_idle()
    assert all(marker in json.dumps(stack.scan(r, "appx-feed")) for r in stack.cells)
    failures = sum(r["streamFailures"] for r in stack.status()["regions"])

    stack.fault("stream-failing")  # every region: the job INSERT and the posts' REMOVEs are discarded
    r = stack.request("DELETE", "/v1/me", token=user["token"], country="ES")
    assert r.status == 204, r.text
    blobs = wait_erased(stack, [user["userId"], marker])
    assert sum(r["streamFailures"] for r in stack.status()["regions"]) > failures, "the stream consumer did not fail"
    _assert_nothing_left(blobs, [user["userId"], marker])
    tombstones = [i for r in stack.cells for i in stack.scan(r, "appx-restricted-eu") if i["sk"]["S"] == "TOMBSTONE"]
    assert tombstones and all("completedAt" in t for t in tombstones if t["erasedAt"] == tombstones[-1]["erasedAt"])
