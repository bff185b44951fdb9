"""The backup test (issue 9): copy every table that AWS backs up (PITR), every stream, the queue and
the DLQ just before an erasure; after it, try to open every ciphertext in that copy with every key
the system still holds. Nothing of the erased subject opens; the other subject's data still does.

The copy leaves out only the subject-key store: it has no backups (PITR off) and no stream (one
plain table per region of the zone, copied by the functions: appx_common.key_store), so nothing of
it outlives a shred. An attacker is assumed to know every Idempotency-Key, so the records' outer
layer is peeled off too."""

from __future__ import annotations

import uuid

import boto3

from tests import shredding
from tests.functions.conftest import TABLES, ZONE_REGIONS

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


def _stored_wrapped_keys() -> list[tuple[str, bytes, int]]:
    """(zone, wrapped key, version) of every subject key stored in any region's key store."""
    return [(zone, bytes(item["wrapped"]), int(item["version"]))
            for zone, regions in ZONE_REGIONS.items() for region in regions
            for item in boto3.resource("dynamodb", region_name=region).Table(f"appx-subject-keys-{zone}").scan()["Items"]
            if "wrapped" in item]


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
    blob = shredding.blob_of(copy)
    assert "appxenc1" not in blob  # no edge ciphertext (RSA-openable) is kept anywhere
    for plaintext in ("alice@example.org", "bob@example.org", users["alice"]["token"].rsplit(".", 1)[1]):
        assert plaintext not in blob

    alice, bob = users["alice"]["userId"], users["bob"]["userId"]
    assert world.request("DELETE", "/v1/me", token=users["alice"]["token"]).status == 204
    world.run_worker()
    world.finish_erasures()

    # Every ciphertext of the copy, with the Idempotency-Keys' outer layer peeled off as well.
    records = copy["tables"]["appx-idempotency"]
    tokens = shredding.ciphertexts(blob, records, idem_keys)
    fields = shredding.contexts(blob, [i["id"] for i in records])
    held = shredding.held_keys(_stored_wrapped_keys(), world.api.app.keys.open_subject_key, (alice, bob))
    assert {k.subject for k in held} == {bob}  # alice's key is gone from every region, bob's is not

    opened = shredding.opened(tokens, held, fields)
    assert opened.get(alice, 0) == 0
    # bob: 3 fields, the patched phone (stream images), the sign-up reply, the PATCH/post replies, queued writes
    assert opened[bob] >= 6, opened
    assert len(tokens) > opened[bob]  # alice's ciphertexts were in the copy, and none opened
