"""The backup test (issue 9): copy every table that AWS backs up (PITR), every stream, the queue and
the DLQ just before an erasure; after it, try to open every ciphertext in that copy with every key
the system still holds. Nothing of the erased subject opens; the other subject's data still does.

The copy leaves out only the subject-key store: it has no backups (PITR off) and no stream (one
plain table per region of the zone, copied by the functions: appx_common.key_store), so nothing of
it outlives a shred. An attacker is assumed to know every Idempotency-Key, so the records' outer
layer is peeled off too."""

from __future__ import annotations

import json
import re
import uuid

from appx_common.envelope import EnvelopeError, open_for_subject
from appx_common.idempotency import _aead
from appx_common.subject_keys import reply_field
from appx_common.subject_keys import SubjectKey
from tests.functions.conftest import TABLES, ZONE_REGIONS

SEALED = re.compile(r"appxsk1\.[a-z0-9]+\.[0-9]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")
BACKED_UP = [t for t in TABLES if not t.startswith("appx-subject-keys-")]
STREAMED = ("appx-restricted-eu", "appx-restricted-de", "appx-posts")


def _copy(world) -> dict:
    def peek(url):
        return [m["Body"] for m in world.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0).get("Messages", [])]

    streams = {}
    for table in STREAMED:
        arn = world.ddb.meta.client.describe_table(TableName=table)["Table"]["LatestStreamArn"]
        shard = world.streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
        it = world.streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        streams[table] = world.streams.get_records(ShardIterator=it)["Records"]
    return {"tables": {t: world.ddb.Table(t).scan()["Items"] for t in BACKED_UP}, "streams": streams,
            "queue": peek(world.queue_url), "dlq": peek(world.dlq_url)}


def _held_keys(world, subjects) -> list:
    """Every subject key the system can still produce: each wrapped key stored in any region's key
    store, unwrapped with the zone's wrapping key for every subject it could belong to."""
    import boto3

    provider, held = world.api.app.keys, []
    for zone, regions in ZONE_REGIONS.items():
        for region in regions:
            for item in boto3.resource("dynamodb", region_name=region).Table(f"appx-subject-keys-{zone}").scan()["Items"]:
                for subject in subjects if "wrapped" in item else ():
                    try:
                        material = provider.open_subject_key(zone, subject, bytes(item["wrapped"]))
                    except EnvelopeError:
                        continue
                    held.append(SubjectKey(zone, subject, int(item["version"]), material))
    return held


def test_a_copy_taken_before_erasure_opens_nothing_of_the_erased_subject(world):
    idem_keys = [str(uuid.uuid4()) for _ in range(6)]
    users = {}
    for name, country, key in (("alice", "FR", idem_keys[0]), ("bob", "DE", idem_keys[1])):
        u = world.signup(email=f"{name}@example.org", name=name.title(), country=country, idem=key).json
        users[name] = u
        t = u["token"]
        assert world.request("PATCH", "/v1/me", {"phone": f"+33 {name}"}, token=t, idem=idem_keys[2 if name == "alice" else 3]).status == 200
        assert world.request("POST", "/v1/posts", {"text": f"{name} writes"}, token=t, idem=idem_keys[4 if name == "alice" else 5]).status == 201
        world.api.app.breaker.force_open()  # one write each waits in the queue, one more in the DLQ
        assert world.request("PATCH", "/v1/me", {"name": f"{name.title()} Queued"}, token=t).status == 202
        world.api.app.breaker.success()
    queued = world.sqs.receive_message(QueueUrl=world.queue_url, MaxNumberOfMessages=10, VisibilityTimeout=0)["Messages"]
    world.sqs.send_message(QueueUrl=world.dlq_url, MessageBody=queued[0]["Body"])

    copy = _copy(world)
    blob = json.dumps(copy, default=repr)
    assert "appxenc1" not in blob  # no edge ciphertext (RSA-openable) is kept anywhere
    for plaintext in ("alice@example.org", "bob@example.org", users["alice"]["token"].rsplit(".", 1)[1]):
        assert plaintext not in blob

    alice, bob = users["alice"]["userId"], users["bob"]["userId"]
    assert world.request("DELETE", "/v1/me", token=users["alice"]["token"]).status == 204
    world.run_worker()
    world.finish_erasures()

    # Every ciphertext of the copy, with the Idempotency-Keys' outer layer peeled off as well.
    tokens = set(SEALED.findall(blob))
    for item in copy["tables"]["appx-idempotency"]:
        if "response" in item:
            raw = bytes(item["response"].value)
            for key in idem_keys:
                try:
                    tokens |= set(SEALED.findall(_aead(key, item["id"]).decrypt(raw[:12], raw[12:], item["id"].encode()).decode()))
                except Exception:  # noqa: BLE001 - not this key
                    pass
    contexts = {"email", "name", "phone", "birthDate"}
    contexts |= {reply_field(i["id"]) for i in copy["tables"]["appx-idempotency"]}
    contexts |= {f"queued-write:{json.loads(b)['requestId']}" for b in copy["queue"] + copy["dlq"]}
    held = _held_keys(world, (alice, bob))
    assert {k.subject for k in held} == {bob}  # alice's key is gone, bob's is not

    opened = {alice: 0, bob: 0}
    for token in tokens:
        for key in held:
            for field in contexts:
                try:
                    open_for_subject(token, key.material, field, key.zone, key.subject, key.version)
                except EnvelopeError:
                    continue
                opened[key.subject] += 1
    assert opened[alice] == 0
    # bob: 3 fields, the patched phone (stream images), the sign-up reply, the PATCH/post replies, queued writes
    assert opened[bob] >= 6, opened
    assert len(tokens) > opened[bob]  # alice's ciphertexts were in the copy, and none opened
