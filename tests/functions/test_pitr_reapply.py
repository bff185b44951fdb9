"""Restoring a point-in-time backup must not bring an erased subject back (issue 9).

"Restore" here is what `restore-table-to-point-in-time` does: a new table with the live table's
layout holding the items of a moment before the erasures. `python -m tools.erasure reapply`
then deletes every item of a subject erased since (completed jobs and a job still pending, zones
`eu` and `de`), copies the live tombstones and markers in, and leaves every other item as it was.
"""

from __future__ import annotations

import json
import uuid

import pytest

from appx_common.subjects import SubjectRefs, local_loader
from tests.functions.conftest import REGION
from tools.erasure import main

RESTORABLE = ("appx-restricted-eu", "appx-restricted-de", "appx-posts", "appx-feed", "appx-idempotency")
ERASURE_RECORDS = ("ERASED", "ERASURE-JOB")  # tombstones, markers, jobs: what the live tables remember


def _restore(world, source: str, target: str, items: list[dict]) -> None:
    """A new table with the layout of `source` holding `items` (a PITR restore to a new name)."""
    client = world.ddb.meta.client
    desc = client.describe_table(TableName=source)["Table"]
    indexes = [{"IndexName": i["IndexName"], "KeySchema": i["KeySchema"], "Projection": i["Projection"]}
               for i in desc.get("GlobalSecondaryIndexes", [])]
    client.create_table(TableName=target, KeySchema=desc["KeySchema"], AttributeDefinitions=desc["AttributeDefinitions"],
                        BillingMode="PAY_PER_REQUEST", **({"GlobalSecondaryIndexes": indexes} if indexes else {}))
    with world.ddb.Table(target).batch_writer() as batch:
        for item in items:
            batch.put_item(Item=item)


def _scan(world, table: str) -> list[dict]:
    return world.ddb.Table(table).scan(ConsistentRead=True)["Items"]


def _canonical(items) -> list[str]:
    return sorted(json.dumps(i, sort_keys=True, default=repr) for i in items)


def _reapply(world, capsys, table: str, *extra: str) -> tuple[int, dict, str]:
    refs = SubjectRefs(local_loader(world.keys["dir"]))
    code = main(["reapply", "--region", REGION, "--table", f"{table}-restored", "--as", table, *extra],
                dynamodb=world.ddb, subject_refs=lambda zone: refs)
    out = capsys.readouterr().out
    return code, json.loads(out), out


@pytest.fixture
def restored(world):
    """Three erased subjects (eu and de completed, eu pending) and two kept, a restore taken
    before the erasures, and what identifies the erased subjects in it."""
    refs = SubjectRefs(local_loader(world.keys["dir"]))
    people = {}
    for name, country in (("alice", "FR"), ("bob", "FR"), ("carol", "DE"), ("dave", "IT"), ("erin", "DE")):
        user = world.signup(email=f"{name}@example.org", name=name.title(), country=country, idem=str(uuid.uuid4())).json
        token = user["token"]
        assert world.request("PATCH", "/v1/me", {"phone": f"+33 6 00 00 00 {len(name)}"}, token=token, idem=str(uuid.uuid4())).status == 200
        assert world.request("POST", "/v1/me/sessions", token=token).status == 201
        posts = [world.request("POST", "/v1/posts", {"text": f"{name} writes {i}"}, token=token, idem=str(uuid.uuid4())).json
                 for i in range(3)]
        people[name] = {**user, "posts": posts, "ref": refs.ref(user["userId"])}
    world.pump_streams()  # the feed projection
    snapshot = {t: _scan(world, t) for t in RESTORABLE}
    for table, items in snapshot.items():
        _restore(world, table, f"{table}-restored", items)
    for name in ("alice", "carol"):
        assert world.request("DELETE", "/v1/me", token=people[name]["token"]).status == 204
    world.finish_erasures()
    # dave's erasure is committed but its job has not run yet: his posts are still live.
    assert world.request("DELETE", "/v1/me", token=people["dave"]["token"]).status == 204
    erased = [people[n] for n in ("alice", "carol", "dave")]
    authors = {i["authorId"] for t in ("appx-restricted-eu", "appx-restricted-de") for i in snapshot[t]
               if i.get("sk") == "PROFILE" and i["userId"] in {p["userId"] for p in erased}}
    marks = {p["userId"] for p in erased} | {p["ref"] for p in erased} | authors | {
        post[k] for p in erased for post in p["posts"] for k in ("postId", "text")}
    return {"snapshot": snapshot, "people": people, "marks": marks}


def _of_erased(item: dict, marks: set[str]) -> bool:
    text = json.dumps(item, default=repr)
    return any(m in text for m in marks)


def test_reapply_removes_every_erased_subject_from_restored_tables_and_nothing_else(world, restored, capsys):
    snapshot, marks = restored["snapshot"], restored["marks"]
    for table in RESTORABLE:
        assert any(_of_erased(i, marks) for i in snapshot[table]), table  # the restore holds them

        code, dry, _ = _reapply(world, capsys, table)
        assert code == 1 and sum(dry["erased"].values()) > 0, (table, dry)
        assert _canonical(_scan(world, f"{table}-restored")) == _canonical(snapshot[table]), f"the dry run changed {table}"

        code, done, out = _reapply(world, capsys, table, "--apply")
        assert code == 0 and done["erased"] == dry["erased"], (table, done)
        assert not any(p["userId"] in out for p in restored["people"].values())  # counts only, never a user id
        after = _scan(world, f"{table}-restored")
        rest = [i for i in after if not str(i.get("pk", "")).startswith(ERASURE_RECORDS)]
        assert _canonical(rest) == _canonical([i for i in snapshot[table] if not _of_erased(i, marks)]), table
        records = [i for i in _scan(world, table) if str(i.get("pk", "")).startswith(ERASURE_RECORDS)]
        assert _canonical(i for i in after if str(i.get("pk", "")).startswith(ERASURE_RECORDS)) == _canonical(records), table

        code, again, _ = _reapply(world, capsys, table, "--apply")
        assert code == 0 and again["erased"] == {} and again["erasureRecordsCopied"] == 0, (table, again)
        assert _canonical(_scan(world, f"{table}-restored")) == _canonical(after)
        assert _reapply(world, capsys, table)[0] == 0  # a dry run now finds nothing

    counted = {t: _reapply(world, capsys, t)[1] for t in ("appx-restricted-eu", "appx-restricted-de")}
    assert counted["appx-restricted-eu"]["liveErasures"]["pendingJobs"] == 1  # dave, still running
    # The restored restricted tables now hold every live tombstone: a redelivered write of an
    # erased subject is refused by the restored table as by the live one.
    for table, people in (("appx-restricted-eu", ("alice", "dave")), ("appx-restricted-de", ("carol",))):
        keys = {i["pk"] for i in _scan(world, f"{table}-restored")}
        assert {f"ERASED#{restored['people'][n]['ref']}" for n in people} <= keys


def test_reapply_counts_per_kind(world, restored, capsys):
    assert _reapply(world, capsys, "appx-restricted-eu", "--apply")[1]["erased"] == {
        "profile": 2, "session": 4, "signupReply": 2}
    assert _reapply(world, capsys, "appx-restricted-de", "--apply")[1]["erased"] == {"profile": 1, "session": 2, "signupReply": 1}
    assert _reapply(world, capsys, "appx-posts", "--apply")[1]["erased"] == {"post": 9}
    assert _reapply(world, capsys, "appx-feed", "--apply")[1]["erased"] == {"feedEntry": 9}
    assert _reapply(world, capsys, "appx-idempotency", "--apply")[1]["erased"] == {"idempotencyRecord": 15}


@pytest.mark.parametrize("argv, message", [
    (["--table", "appx-posts-restored", "--as", "appx-subject-keys-eu"], "--as appx-subject-keys-eu"),
    (["--table", "appx-posts-restored", "--as", "appx-nothing"], "allowed --as in eu-central-1: appx-feed, appx-idempotency, appx-posts, appx-restricted-de, appx-restricted-eu"),
    (["--as", "appx-posts"], "--table (missing)"),
    (["--table", "appx-nowhere", "--as", "appx-posts"], "--table appx-nowhere: no such table in eu-central-1"),
    (["--table", "appx-idempotency", "--as", "appx-posts"], "--table appx-idempotency is keyed (id), not like --as appx-posts (pk, sk)"),
    (["--table", "appx-posts", "--as", "appx-posts", "--zone", "eu"], "--zone, --job and --consistent belong to list/resume"),
])
def test_reapply_refuses_bad_input_naming_the_argument(world, capsys, argv, message):
    assert main(["reapply", "--region", REGION, *argv], dynamodb=world.ddb) == 2
    assert message in capsys.readouterr().err


def test_list_refuses_reapply_arguments(world, capsys):
    assert main(["list", "--region", REGION, "--apply"], dynamodb=world.ddb) == 2
    assert "--table, --as and --apply belong to reapply and copyback" in capsys.readouterr().err


def _copyback(world, capsys, table: str, *extra: str) -> tuple[int, dict | None, str]:
    refs = SubjectRefs(local_loader(world.keys["dir"]))
    code = main(["copyback", "--region", REGION, "--table", f"{table}-restored", "--as", table, *extra],
                dynamodb=world.ddb, subject_refs=lambda zone: refs)
    captured = capsys.readouterr()
    return code, json.loads(captured.out) if captured.out else None, captured.err


def test_copyback_brings_back_lost_items_never_an_erased_subject_or_a_credential(world, restored, capsys):
    from boto3.dynamodb.conditions import Key

    people, marks = restored["people"], restored["marks"]
    bob = people["bob"]
    # The accident the backup is for: bob's posts and his whole partition are gone from the live tables.
    for post in bob["posts"]:
        world.ddb.Table("appx-posts").delete_item(Key={"pk": f"POST#{post['postId']}", "sk": "POST"})
    live_eu = world.ddb.Table("appx-restricted-eu")
    for item in live_eu.query(KeyConditionExpression=Key("pk").eq(f"USER#{bob['userId']}"))["Items"]:
        live_eu.delete_item(Key={"pk": item["pk"], "sk": item["sk"]})

    code, _, err = _copyback(world, capsys, "appx-posts", "--apply")  # not re-applied yet
    assert code == 2 and "run `reapply --apply` on it first" in err
    for table in ("appx-posts", "appx-restricted-eu"):
        assert _reapply(world, capsys, table, "--apply")[0] == 0
    # erin is erased after the re-application: the restored table holds her again, copyback refuses.
    assert world.request("DELETE", "/v1/me", token=people["erin"]["token"]).status == 204
    world.finish_erasures()
    marks = marks | {people["erin"]["userId"]} | {p[k] for p in people["erin"]["posts"] for k in ("postId", "text")}
    assert _copyback(world, capsys, "appx-posts")[0] == 2
    assert _reapply(world, capsys, "appx-posts", "--apply")[0] == 0

    live_before = _canonical(_scan(world, "appx-posts"))
    code, dry, _ = _copyback(world, capsys, "appx-posts")
    assert code == 0 and dry["copyBack"]["copied"] == 3 and _canonical(_scan(world, "appx-posts")) == live_before
    code, done, _ = _copyback(world, capsys, "appx-posts", "--apply")
    assert code == 0 and done["copyBack"]["copied"] == 3 and "liveReapplied" in done
    live_posts = _scan(world, "appx-posts")
    assert {p["postId"] for p in bob["posts"]} <= {i.get("postId") for i in live_posts}
    assert not any(_of_erased(i, marks) for i in live_posts if not str(i["pk"]).startswith(ERASURE_RECORDS))

    # dave's job completed meanwhile: the copy of his pending job row (it names him) must go first.
    assert _copyback(world, capsys, "appx-restricted-eu", "--apply")[0] == 2
    assert _reapply(world, capsys, "appx-restricted-eu", "--apply")[1]["erased"] == {"erasureJob": 1}
    code, done, _ = _copyback(world, capsys, "appx-restricted-eu", "--apply")
    assert code == 0 and done["copyBack"]["credentialsSkipped"] >= 2
    bob_live = live_eu.query(KeyConditionExpression=Key("pk").eq(f"USER#{bob['userId']}"))["Items"]
    assert [i["sk"] for i in bob_live] == ["PROFILE"]  # his profile is back, no session: he signs in again
    assert world.request("GET", "/v1/me", token=bob["token"]).status == 401
    assert not any(_of_erased(i, marks) for i in _scan(world, "appx-restricted-eu") if not str(i["pk"]).startswith(ERASURE_RECORDS))
    assert _copyback(world, capsys, "appx-posts", "--apply")[1]["copyBack"]["copied"] == 0  # idempotent
