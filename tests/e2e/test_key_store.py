"""The subject-key store across a zone's regions over time (functions/appx_common/key_store.py): a
copy missed while a region's storage was down is repaired by the first read there; an erasure while
a region's storage is down leaves its copy only until the region is back, when the erasure job
overwrites it, and the job does not complete before."""

from __future__ import annotations

import time
import uuid


from tests.e2e.conftest import raw_items, signup, wait_erased, wait_until

ZONE_REGIONS = ("eu-west-1", "eu-central-1", "eu-west-3")


def _key_items(stack, regions=ZONE_REGIONS) -> dict[str, list[dict]]:
    """The regions' items of the eu zone's key store."""
    return {region: raw_items(stack, region, "appx-subject-keys-eu") for region in regions}


def _keys_held(stack, regions=ZONE_REGIONS) -> dict[str, int]:
    return {region: sum("wrapped" in i for i in items) for region, items in _key_items(stack, regions).items()}



def _storage_down(stack, region: str) -> None:
    """The region's DynamoDB answers 503, and Route 53 has stopped sending viewers there."""
    stack.fault("storage-down", region)
    assert wait_until(lambda: not next(r for r in stack.status()["regions"] if r["region"] == region)["health"]["healthy"])


def _pending_jobs(stack, regions=ZONE_REGIONS) -> int:
    return sum(1 for region in regions for item in raw_items(stack, region, "appx-restricted-eu") if item["pk"] == "ERASURE-JOB")


def test_a_copy_missed_while_a_region_was_down_is_repaired_by_the_first_read_there(healthy):
    stack = healthy
    held_before = _keys_held(stack)
    _storage_down(stack, "eu-west-3")
    user = signup(stack, "FR", f"kim.{uuid.uuid4().hex[:8]}@example.fr", "Kim")
    assert user["region"] != "eu-west-3"
    stack.fault("recover")
    held = _keys_held(stack)
    assert held["eu-west-3"] == held_before["eu-west-3"]  # the copy there was missed
    assert all(held[r] == held_before[r] + 1 for r in ZONE_REGIONS if r != "eu-west-3")
    assert stack.wait_idle()  # the profile reaches eu-west-3 by replication; the key does not
    r = stack.request("GET", "/v1/me", token=user["token"], region="eu-west-3")
    assert r.status == 200, r.text
    assert _keys_held(stack)["eu-west-3"] == held_before["eu-west-3"] + 1  # repaired from another region of the zone


def test_an_erasure_while_a_region_is_down_completes_only_once_its_copy_is_overwritten(healthy):
    stack = healthy
    user = signup(stack, "FR", f"lou.{uuid.uuid4().hex[:8]}@example.fr", "Lou")
    assert stack.wait_idle()
    other = "eu-west-1" if user["region"] != "eu-west-1" else "eu-west-3"
    held_before = _keys_held(stack)
    _storage_down(stack, other)
    r = stack.request("DELETE", "/v1/me", token=user["token"], country="FR")
    assert r.status in (202, 204), r.text
    reachable = [r for r in ZONE_REGIONS if r != other]
    # Overwritten at once wherever reachable; the unreachable region may still hold its copy, so the job waits.
    held = _keys_held(stack, reachable)
    assert all(held[r] == held_before[r] - 1 for r in reachable)
    time.sleep(2.0)  # several sweeps (0.5 s) past the settle window (1 s)
    assert _pending_jobs(stack, reachable) >= 1
    assert stack.request("GET", "/v1/me", token=user["token"], country="FR").status == 401
    stack.fault("recover")
    wait_erased(stack, [user["userId"]])
    assert wait_until(lambda: _pending_jobs(stack) == 0)
    assert _keys_held(stack)[other] == held_before[other] - 1  # the job overwrote the last copy
