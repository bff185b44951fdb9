"""The backup test of issue 9 on the local runtime: just before an erasure, take a full copy of every
table that can be backed up, every stream, every queue and every DLQ in every local region; after
the erasure, try to open every ciphertext of that copy with every key the system still holds.
Nothing of the erased subject opens; the other subjects' data, in both zones, still does.

The copy holds everything AWS could keep beyond our reach: every table with point-in-time recovery
(all but the subject-key stores), every stream record, every message. The subject-key stores are
the one thing not copied, because nothing copies them: PITR off, no stream, no replicas (asserted
here on the running stack, and on the program by the `key-store-single-copy` and `dynamodb-pitr`
policy rules). The attacker knows every Idempotency-Key used."""

from __future__ import annotations

import re
import secrets
from collections import Counter
import uuid
from pathlib import Path


from appx_common.keys import LocalKeyProvider
from tests import shredding
from tests.e2e.conftest import raw_items, signup, storage, wait_erased, wait_until

KEY_STORE_PREFIX = "appx-subject-keys-"
USER_ID = re.compile(r"u_[a-z]+_[a-z2-7]{26}")


def _stream_records(stack, region: str, stream_arn: str) -> list[dict]:
    streams, records = storage(stack, "dynamodbstreams", region), []
    for shard in streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"]:
        iterator = streams.get_shard_iterator(StreamArn=stream_arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        for _ in range(1000):  # bounded: a quiet stream returns an empty page
            page = streams.get_records(ShardIterator=iterator, Limit=1000)
            records += page["Records"]
            if not page["Records"] or not page.get("NextShardIterator"):
                break
            iterator = page["NextShardIterator"]
    return records


def _peek(stack, region: str) -> dict[str, list[str]]:
    """Every queue's visible messages, received once with visibility 0 (they stay where they are)."""
    sqs = storage(stack, "sqs", region)
    return {url.rsplit("/", 1)[1]: [m["Body"] for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10,
                                                                           VisibilityTimeout=0).get("Messages", [])]
            for url in sqs.list_queues().get("QueueUrls", [])}


def _full_copy(stack) -> dict:
    copy = {}
    for region in stack.cells:
        ddb = storage(stack, "dynamodb", region)
        tables, streams = {}, {}
        for name in ddb.list_tables()["TableNames"]:
            description = ddb.describe_table(TableName=name)["Table"]
            if name.startswith(KEY_STORE_PREFIX):
                # Nothing keeps a copy of a key store: no stream here (and PITR off in the program).
                assert not description.get("StreamSpecification", {}).get("StreamEnabled"), (region, name)
                assert "LatestStreamArn" not in description, (region, name)
                continue
            tables[name] = raw_items(stack, region, name)
            if description.get("LatestStreamArn"):
                streams[name] = _stream_records(stack, region, description["LatestStreamArn"])
        copy[region] = {"tables": tables, "streams": streams, "queues": _peek(stack, region)}
    return copy


def _wrapped_keys(stack) -> list[tuple[str, bytes, int]]:
    """(zone, wrapped, version) of every subject key still stored in any region's key store."""
    out = []
    for region in stack.cells:
        for name in storage(stack, "dynamodb", region).list_tables()["TableNames"]:
            if name.startswith(KEY_STORE_PREFIX):
                zone = name.removeprefix(KEY_STORE_PREFIX)
                out += [(zone, bytes(i["wrapped"]), int(i["version"])) for i in raw_items(stack, region, name) if "wrapped" in i]
    return out


def _unwrap(stack):
    """The zones' wrapping keys as the runtime holds them (each region's key directory holds only
    its zones' keys, like KMS multi-Region replicas)."""
    providers = [LocalKeyProvider(d) for d in sorted(Path(stack.state["keys"]).iterdir()) if d.is_dir()]

    def unwrap(zone: str, subject: str, wrapped: bytes) -> bytes:
        for provider in providers:
            if (provider.directory / f"{zone}.wrap").exists():
                return provider.open_subject_key(zone, subject, wrapped)
        raise AssertionError(f"no wrapping key for zone {zone}")
    return unwrap


def _idempotency_records(copy: dict) -> list[dict]:
    """Idempotency records of the copy: table items and their stream images."""
    from boto3.dynamodb.types import TypeDeserializer

    deserialize = TypeDeserializer().deserialize
    records = []
    for region in copy.values():
        records += region["tables"].get("appx-idempotency", [])
        for record in region["streams"].get("appx-idempotency", []):
            for image in ("NewImage", "OldImage"):
                if image in record["dynamodb"]:
                    records.append({k: deserialize(v) for k, v in record["dynamodb"][image].items()})
    return records


def _sign_up_reply_ids(copy: dict) -> set[str]:
    """Record ids of the sign-up replies kept in the zones' restricted tables (IDEMREPLY#<id>)."""
    return {item["pk"].removeprefix("IDEMREPLY#") for region in copy.values() for table, items in region["tables"].items()
            if table.startswith("appx-restricted-") for item in items if item["pk"].startswith("IDEMREPLY#")}



def test_a_full_copy_taken_before_erasure_opens_nothing_of_the_erased_subject(healthy):
    stack, marker = healthy, uuid.uuid4().hex[:8]
    idem_keys: list[str] = []

    def idem() -> dict:
        idem_keys.append(secrets.token_urlsafe(24))
        return {"Idempotency-Key": idem_keys[-1]}

    users = {name: signup(stack, country, f"{name}.{marker}@example.eu", f"{name.title()} {marker}")
             for name, country in (("alice", "FR"), ("bob", "FR"), ("carol", "DE"))}
    for name, user in users.items():
        country = "DE" if name == "carol" else "FR"
        r = stack.request("PATCH", "/v1/me", json_body={"phone": f"+33 1 {marker}"}, token=user["token"], country=country, headers=idem())
        assert r.status == 200, r.text
        r = stack.request("POST", "/v1/posts", json_body={"text": f"{name} {marker}"}, token=user["token"], country=country, headers=idem())
        assert r.status == 201, r.text
    # One write each waits in a queue; a copy of alice's and carol's also sits in their DLQ.
    stack.fault("breaker-open")
    stack.fault("worker-paused")
    for name, user in users.items():
        r = stack.request("PATCH", "/v1/me", json_body={"name": f"{name.title()} Queued"}, token=user["token"],
                          country="DE" if name == "carol" else "FR")
        assert r.status == 202, r.text
    for name in ("alice", "carol"):
        region = users[name]["region"]
        sqs, queues = storage(stack, "sqs", region), _peek(stack, region)
        body = next(b for b in queues["appx-deferred-writes"] if users[name]["userId"] in b)
        dlq = next(u for u in sqs.list_queues()["QueueUrls"] if u.endswith("-dlq"))
        sqs.send_message(QueueUrl=dlq, MessageBody=body)
    assert stack.wait_idle()

    copy = _full_copy(stack)
    blob = shredding.blob_of(copy)
    assert "appxenc1" not in blob  # no edge (RSA) envelope is stored anywhere
    for user in users.values():
        assert f"{marker}@example.eu" not in blob and user["token"].rsplit(".", 1)[1] not in blob
    records = _idempotency_records(copy)
    tokens = shredding.ciphertexts(blob, records, idem_keys)
    fields = shredding.contexts(blob, {r["id"] for r in records} | _sign_up_reply_ids(copy))
    # Every subject whose data the copy may hold (the stack is shared with other tests).
    subjects = sorted(set(USER_ID.findall(blob)))
    alice, bob, carol = (u["userId"] for u in users.values())
    before = shredding.owners(tokens, shredding.held_keys(_wrapped_keys(stack), _unwrap(stack), subjects), fields)
    counts = Counter(before.values())
    # Before the erasure each of ours has fields, the queued and the dead-lettered write, the PATCH
    # and post replies in the copy, and they open.
    assert all(counts[s] >= 6 for s in (alice, bob, carol)), counts

    stack.fault("recover")
    r = stack.request("DELETE", "/v1/me", token=users["alice"]["token"], country="FR")
    assert r.status in (202, 204), r.text
    wait_erased(stack, [alice])
    assert wait_until(lambda: stack.request("GET", "/v1/me", token=users["alice"]["token"], country="FR").status == 401)

    held = shredding.held_keys(_wrapped_keys(stack), _unwrap(stack), subjects)
    assert alice not in {k.subject for k in held} and {bob, carol} <= {k.subject for k in held}
    after = shredding.owners(tokens, held, fields)
    # Not one of alice's ciphertexts opens any more, with any key; everyone else's still do.
    assert [t for t, owner in before.items() if owner == alice and t in after] == []
    assert {t: o for t, o in before.items() if o != alice} == after
