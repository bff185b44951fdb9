"""The e2e suite runs against a real local stack started by the session (127.0.0.1 only) and
stopped at its end. Health checks are fast here (0.3 s × threshold + 0.6 s TTL)."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from tools.local.client import LocalStack

HEALTH_INTERVAL_S = 0.3
DNS_TTL_S = 0.6
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
# The browser origin every cell grants (the example stack files list none: --cors-origins).
CORS_ORIGIN = "https://web.appx.test"


@pytest.fixture(scope="session")
def stack(tmp_path_factory):
    s = LocalStack.start("--health-interval", str(HEALTH_INTERVAL_S), "--dns-ttl", str(DNS_TTL_S), "--default-country", "IE",
                        "--erasure-sweep", "0.5", "--erasure-settle", "1", "--cors-origins", CORS_ORIGIN,
                         state_dir=tmp_path_factory.mktemp("local-stack"))
    try:
        yield s
    finally:
        s.stop()


@pytest.fixture
def healthy(stack):
    """Every test starts and ends with every region recovered and healthy."""
    stack.fault("recover")
    _wait_all_healthy(stack)
    yield stack
    stack.fault("recover")
    _wait_all_healthy(stack)


def _wait_all_healthy(stack, timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if all(r["health"]["healthy"] for r in stack.status()["regions"]):
            return
        time.sleep(0.1)
    raise AssertionError("regions did not become healthy again")


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


def signup(stack, country: str, email: str, name: str, **extra) -> dict:
    r = stack.request("POST", "/v1/users", json_body={"email": email, "name": name, **extra}, country=country)
    assert r.status == 201, (r.status, r.text)
    doc = r.json()
    doc["region"] = r.region
    return doc


def storage(stack, service: str, region: str, kind: str = "client"):
    """A boto3 client (or resource) of the local stack's storage in one region."""
    import boto3

    return getattr(boto3, kind)(service, region_name=region, endpoint_url=stack.state["moto"], aws_access_key_id="testing",
                                aws_secret_access_key="testing")


def raw_items(stack, region: str, table: str) -> list[dict]:
    """Every item of a table as boto3 reads it (binary values as bytes), consistent, all pages."""
    items, kwargs, scan = [], {"ConsistentRead": True}, storage(stack, "dynamodb", region, "resource").Table(table).scan
    while True:
        page = scan(**kwargs)
        items += page["Items"]
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def wait_until(predicate, timeout_s: float = 20.0) -> bool:
    """Poll `predicate` (bounded in time); its last answer."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return predicate()


def wait_erased(stack, needles: list[str], timeout_s: float = 30.0) -> dict[str, str]:
    """Until no region holds any needle and no erasure job is pending; returns the last dumps."""
    deadline = time.monotonic() + timeout_s
    while True:
        stack.wait_idle()
        blobs = {f"{r} {t}": json.dumps(items, default=str) for r in stack.cells for t, items in stack.dump_region(r).items()}
        jobs = [r for r, b in blobs.items() if '"ERASURE-JOB"' in b]
        if (not jobs and not any(n in b for n in needles for b in blobs.values())) or time.monotonic() > deadline:
            return blobs
        time.sleep(0.3)


def ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")
