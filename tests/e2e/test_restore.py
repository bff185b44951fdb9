"""Restoring a backup on the local runtime, the way an operator runs it (README, Restoring a
backup): tables restored to new tables from a point before an erasure bring the erased subject
back; `python -m tools.erasure reapply --local` finds it (a dry run changes nothing and exits 1),
removes it with `--apply`, leaves everyone else alone, and a second run finds nothing."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path


from tests.e2e.conftest import raw_items, signup, storage, wait_erased

ROOT = Path(__file__).resolve().parents[2]
REGION = "eu-west-3"


def _restore(stack, live: str, restored: str) -> None:
    """What a point-in-time restore to a new table gives: the same keys and indexes, the items as they were."""
    ddb = storage(stack, "dynamodb", REGION, "resource")
    description = ddb.meta.client.describe_table(TableName=live)["Table"]
    indexes = [{k: i[k] for k in ("IndexName", "KeySchema", "Projection")} for i in description.get("GlobalSecondaryIndexes", [])]
    ddb.create_table(TableName=restored, KeySchema=description["KeySchema"], AttributeDefinitions=description["AttributeDefinitions"],
                     BillingMode="PAY_PER_REQUEST", **({"GlobalSecondaryIndexes": indexes} if indexes else {}))
    with ddb.Table(restored).batch_writer() as batch:
        for item in raw_items(stack, REGION, live):
            batch.put_item(Item=item)


def _reapply(stack, restored: str, live: str, *extra: str) -> tuple[int, str]:
    run = subprocess.run([sys.executable, "-m", "tools.erasure", "reapply", "--local", "--state-dir", str(stack.state_dir),
                          "--region", REGION, "--table", restored, "--as", live, *extra],
                         cwd=ROOT, capture_output=True, text=True, timeout=120)
    return run.returncode, run.stdout + run.stderr


def test_reapply_removes_from_a_restored_table_every_subject_erased_since_its_restore_point(healthy):
    stack, marker = healthy, uuid.uuid4().hex[:8]
    users = {name: signup(stack, "FR", f"{name}.{marker}@example.fr", name.title()) for name in ("ana", "ben")}
    for name, user in users.items():
        r = stack.request("POST", "/v1/posts", json_body={"text": f"{name} {marker}"}, token=user["token"], country="FR")
        assert r.status == 201, r.text
    assert stack.wait_idle()
    suffix = f"-restored-{marker}"
    for live in ("appx-posts", "appx-restricted-eu"):
        _restore(stack, live, live + suffix)

    r = stack.request("DELETE", "/v1/me", token=users["ana"]["token"], country="FR")
    assert r.status in (202, 204), r.text
    wait_erased(stack, [users["ana"]["userId"]])
    ana, ben = users["ana"]["userId"], users["ben"]["userId"]

    # What names each user in each table: posts carry the text (and a pseudonym), profiles the user id.
    needles = {"appx-posts": {ana: f"ana {marker}", ben: f"ben {marker}"}, "appx-restricted-eu": {ana: ana, ben: ben}}

    def holds(table: str, live: str, user_id: str) -> bool:
        return needles[live][user_id] in json.dumps(raw_items(stack, REGION, table), default=str)

    for live in ("appx-posts", "appx-restricted-eu"):
        restored = live + suffix
        assert holds(restored, live, ana) and holds(restored, live, ben)  # the backup brought ana back
        before = raw_items(stack, REGION, restored)
        code, out = _reapply(stack, restored, live)
        assert code == 1, out  # dry run: something to do, nothing changed
        assert raw_items(stack, REGION, restored) == before and ana not in out
        code, out = _reapply(stack, restored, live, "--apply")
        assert code == 0, out
        assert not holds(restored, live, ana) and holds(restored, live, ben), live
        assert ana not in out
        code, out = _reapply(stack, restored, live)
        assert code == 0, out  # nothing left to do
