"""Erasure is final: tombstones stop redelivered writes, the job finishes what a dropped stream
batch left, the profile item does not grow with writes."""

from __future__ import annotations

import json

from boto3.dynamodb.types import TypeSerializer

from tests.functions.conftest import sqs_record

PROFILE_SIZE_WRITES = (1, 50, 200)


def _queued(world) -> list[dict]:
    return world.sqs.receive_message(QueueUrl=world.queue_url, MaxNumberOfMessages=10, AttributeNames=["All"]).get("Messages", [])


def _deliver(world, bodies: list[str]) -> dict:
    for body in bodies:
        world.sqs.send_message(QueueUrl=world.queue_url, MessageBody=body)
    msgs = _queued(world)
    out = world.worker({"Records": [sqs_record(m, world.queue_url) for m in msgs]}, None)
    for m in msgs:
        world.sqs.delete_message(QueueUrl=world.queue_url, ReceiptHandle=m["ReceiptHandle"])
    return out


def _profile(world, user_id: str) -> dict | None:
    return world.ddb.Table("appx-restricted-eu").get_item(Key={"pk": f"USER#{user_id}", "sk": "PROFILE"}).get("Item")


def test_queued_signup_redelivered_after_erasure_is_dropped_and_counted(world, capsys):
    world.api.app.breaker.force_open()
    signup = world.signup()
    assert signup.status == 202, signup
    user = signup.json
    body = _queued(world)[0]["Body"]  # SQS will deliver this again later (at-least-once)
    world.api.app.breaker.success()
    world.run_worker()
    assert world.request("GET", "/v1/me", token=user["token"]).status == 200
    assert world.request("DELETE", "/v1/me", token=user["token"]).status == 204
    world.finish_erasures()
    capsys.readouterr()

    out = _deliver(world, [body])
    assert out == {"batchItemFailures": []}  # dropped, not retried into the DLQ
    assert world.request("GET", "/v1/me", token=user["token"]).status == 401
    assert _profile(world, user["userId"]) is None
    assert user["userId"] not in json.dumps(world.all_items(), default=str)
    emitted = capsys.readouterr().out
    assert '"ErasedSubjectWritesDropped":[1.0]' in emitted.replace(" ", "")


def test_queued_writes_of_an_erased_subject_are_never_applied(world):
    user = world.signup().json
    world.api.app.breaker.force_open()
    assert world.request("PATCH", "/v1/me", {"name": "Queued"}, token=user["token"]).status == 202
    assert world.request("POST", "/v1/posts", {"text": "queued post"}, token=user["token"]).status == 202
    bodies = [m["Body"] for m in _queued(world)]
    world.api.app.breaker.success()
    world.sqs.purge_queue(QueueUrl=world.queue_url)
    assert world.request("DELETE", "/v1/me", token=user["token"]).status == 204

    out = _deliver(world, bodies)
    assert out == {"batchItemFailures": []}
    world.finish_erasures()
    dump = world.dump()
    assert "queued post" not in dump and user["userId"] not in dump
    assert world.worker.app.dropped == 2


def test_signup_replay_for_an_erased_subject_is_refused(world):
    first = world.signup(idem="signup-erased-1-k7Q2xW9mZp4R")
    assert first.status == 201
    user = first.json
    record = world.all_items()["appx-idempotency"][0]
    assert world.request("DELETE", "/v1/me", token=user["token"]).status == 204
    # The erasure job has not run yet (stream not delivered): the record is still there.
    replay = world.signup(idem="signup-erased-1-k7Q2xW9mZp4R")
    assert replay.status == 410 and replay.json["type"].endswith("subject-erased"), replay
    assert world.ddb.Table("appx-idempotency").get_item(Key={"id": record["id"]}).get("Item") is None


def test_job_completes_when_the_stream_batch_was_discarded(world):
    user = world.signup(idem="signup-job-0001-k7Q2xW9mZp4R").json
    t = user["token"]
    posts = [world.request("POST", "/v1/posts", {"text": f"job post {i}"}, token=t, idem=f"post-job-k7Q2xW9mZp4R-000{i}").json for i in range(3)]
    world.pump_streams()
    assert world.request("DELETE", "/v1/me", token=t).status == 204
    world._read_stream("appx-restricted-eu")  # the stream consumer never sees the job (discarded after retries)
    jobs = world.worker.app.jobs.list("eu")
    assert len(jobs) == 1 and user["userId"] not in jobs[0]["sk"]

    world.clock.advance(61)
    summary = world.sweep()
    assert summary["completed"] == 1 and summary["pending"] == 0, summary
    world.pump_streams()
    dump = world.dump()
    for needle in (user["userId"], *(p["postId"] for p in posts), "job post"):
        assert needle not in dump
    tombstone = [i for i in world.all_items()["appx-restricted-eu"] if i["sk"] == "TOMBSTONE"]
    assert len(tombstone) == 1 and "completedAt" in tombstone[0]


def test_job_is_not_complete_before_the_settle_window(world):
    user = world.signup().json
    assert world.request("DELETE", "/v1/me", token=user["token"]).status == 204
    world.pump_streams()
    assert len(world.worker.app.jobs.list("eu")) == 1  # ran from the stream, waits for the window
    early = world.sweep()
    assert (early["pending"], early["completed"]) == (1, 0), early
    world.clock.advance(61)
    late = world.sweep()
    assert (late["pending"], late["completed"], late["oldestAgeSeconds"]) == (0, 1, 0), late


def test_profile_item_size_does_not_grow_with_idempotent_writes(world):
    user = world.signup(idem="signup-size-0001-k7Q2xW9mZp4R").json
    sizes = {}
    done = 0
    for n in PROFILE_SIZE_WRITES:
        while done < n:
            r = world.request("PATCH", "/v1/me", {"locale": "fr-FR" if done % 2 else "de-DE"}, token=user["token"], idem=f"patch-size-k7Q2xW9mZp4R-{done:06d}")
            assert r.status == 200, r
            done += 1
        sizes[n] = _item_bytes(_profile(world, user["userId"]))
    assert len(set(sizes.values())) == 1, sizes
    records = world.worker.app.jobs.idempotency_ids(world.api.app.refs.ref(user["userId"]))
    assert len(records) == PROFILE_SIZE_WRITES[-1] + 1  # found by subject, not listed in the profile


def _item_bytes(item: dict) -> int:
    """DynamoDB item size: attribute names plus values (UTF-8), as AWS counts it (approximately)."""
    ser = TypeSerializer()
    return sum(len(k.encode()) + len(json.dumps(ser.serialize(v), default=str).encode()) for k, v in item.items())


def test_feed_sweep_clears_entries_named_twice(world):
    """Job runs in several regions leave one marker per run: the sweep still clears the feed."""
    user = world.signup().json
    post = world.request("POST", "/v1/posts", {"text": "twice marked"}, token=user["token"]).json
    world.pump_streams()
    jobs = world.worker.app.jobs
    for suffix in ("a", "b"):
        jobs.store.posts.put_item(Item={"pk": "ERASED-POSTS", "sk": f"2025-10-09T08:53:20.000Z#{suffix}",
                                        "feedSk": world.all_items()["appx-feed"][0]["sk"]})
    world.clock.t = 1_760_000_000.0 + 3600  # markers written an hour ago
    assert jobs.clear_erased_feed_entries() == 2
    assert world.all_items()["appx-feed"] == [] and post["postId"]


def test_signup_reply_replays_its_session_and_erasure_removes_every_session_at_once(world):
    """Sign-up with an Idempotency-Key: the replay (kept in the zone, sealed under the subject key)
    carries the same session. The erasure's first transaction deletes every session with the
    profile (before the job runs): no bearer hash or export key outlives it."""
    first = world.signup(idem="signup-sessions-1-k7Q2xW9mZp4R")
    assert first.status == 201 and first.json["sessionId"] and first.json["expiresAt"]
    replay = world.signup(idem="signup-sessions-1-k7Q2xW9mZp4R")
    assert replay.status == 201 and {k: replay.json[k] for k in ("token", "sessionId", "expiresAt")} == {k: first.json[k] for k in ("token", "sessionId", "expiresAt")}
    token, uid = first.json["token"], first.json["userId"]
    assert world.request("POST", "/v1/me/sessions", token=token).status == 201
    assert world.request("DELETE", "/v1/me", token=token).status in (200, 204)
    left = world.ddb.Table("appx-restricted-eu").query(KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": f"USER#{uid}"})["Items"]
    assert left == []
    assert world.request("GET", "/v1/me", token=token).status == 401


def test_operator_command_lists_and_resumes_jobs(world, capsys):
    from tools.erasure import main

    user = world.signup().json
    world.request("POST", "/v1/posts", {"text": "operator resumes"}, token=user["token"])
    assert world.request("DELETE", "/v1/me", token=user["token"]).status == 204
    capsys.readouterr()
    assert main(["list", "--region", "eu-central-1", "--zone", "eu"], dynamodb=world.ddb) == 0
    listed = json.loads(capsys.readouterr().out)
    assert len(listed["pending"]) == 1 and user["userId"] not in json.dumps(listed)
    # The command runs on the wall clock, long past this world's settle window: one run completes it.
    assert main(["resume", "--region", "eu-central-1", "--zone", "eu", "--consistent"], dynamodb=world.ddb) == 0
    first = json.loads(capsys.readouterr().out)["resumed"][0]
    assert first["complete"] and first["deleted"]["posts"] == 1 and first["remaining"] == {"restricted": 0, "idempotency": 0, "posts": 0, "subjectKey": 0}
    assert "operator resumes" not in world.dump()
    assert main(["list", "--region", "eu-central-1"], dynamodb=world.ddb) == 0
    assert json.loads(capsys.readouterr().out)["pending"] == []
    assert main(["list", "--region", "eu-central-1", "--zone", "nowhere"], dynamodb=world.ddb) == 2
