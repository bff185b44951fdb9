"""Worker: partial batch failures, poison messages to the DLQ, redrive, exactly-once effect."""

from __future__ import annotations

import json


def test_poison_reaches_dlq_and_redrive(world, capsys):
    from appx_common.redrive import main

    world.sqs.send_message(QueueUrl=world.queue_url, MessageBody="not json")
    world.sqs.send_message(QueueUrl=world.queue_url, MessageBody=json.dumps({"op": "createPost", "zone": "zz", "requestId": "r"}))
    results = world.run_worker(max_rounds=6)
    assert results and all(len(r["batchItemFailures"]) == 2 for r in results[:3])
    count = lambda url: int(world.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])["Attributes"]["ApproximateNumberOfMessages"])
    assert count(world.queue_url) == 0 and count(world.dlq_url) == 2  # maxReceiveCount 3

    assert main(["--dlq", world.dlq_url, "--queue", world.queue_url, "--dry-run"], sqs=world.sqs) == 0
    assert json.loads(capsys.readouterr().out)["moved"] == 0
    assert main(["--dlq", world.dlq_url, "--queue", world.queue_url], sqs=world.sqs) == 0
    assert json.loads(capsys.readouterr().out) == {"seen": 2, "moved": 2, "dryRun": False}
    assert count(world.queue_url) == 2


def test_partial_batch_failure_applies_good_records(world):
    user = world.signup().json
    world.api.app.breaker.force_open()
    ok = world.request("POST", "/v1/posts", {"text": "good"}, token=user["token"])
    assert ok.status == 202
    world.sqs.send_message(QueueUrl=world.queue_url, MessageBody="{}")
    msgs = world.sqs.receive_message(QueueUrl=world.queue_url, MaxNumberOfMessages=10)["Messages"]
    from tests.functions.conftest import sqs_record

    out = world.worker({"Records": [sqs_record(m, world.queue_url) for m in msgs]}, None)
    assert len(out["batchItemFailures"]) == 1
    assert [p["text"] for p in world.ddb.Table("appx-posts").scan()["Items"]] == ["good"]


def test_queued_patch_and_erase_apply_once(world):
    user = world.signup().json
    world.api.app.breaker.force_open()
    assert world.request("PATCH", "/v1/me", {"name": "Later"}, token=user["token"]).status == 202
    world.run_worker()
    world.api.app.breaker.success()
    assert world.request("GET", "/v1/me", token=user["token"]).json["profile"]["name"] == "Later"
    world.api.app.breaker.force_open()
    assert world.request("DELETE", "/v1/me", token=user["token"]).status == 202
    body = world.sqs.receive_message(QueueUrl=world.queue_url)["Messages"][0]["Body"]
    world.sqs.send_message(QueueUrl=world.queue_url, MessageBody=body)  # duplicate delivery
    world.run_worker()
    world.api.app.breaker.success()
    assert world.request("GET", "/v1/me", token=user["token"]).status == 401
    assert world.finish_erasures()["completed"] == 1
    left = world.all_items()["appx-restricted-eu"]
    assert [(i["pk"][:7], i["sk"]) for i in left] == [("ERASED#", "TOMBSTONE")], left  # only the tombstone
    assert user["userId"] not in json.dumps(left, default=str)
