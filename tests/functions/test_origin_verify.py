"""With APPX_ORIGIN_SECRET set, the API answers only requests that came through CloudFront."""

from __future__ import annotations

import pytest

SECRET = "s3cret-origin-value"
HEADER = "x-appx-origin-verify"


@pytest.fixture
def guarded(world, modules):
    world.api = modules["api"].make_handler({**world.env, "APPX_ORIGIN_SECRET": SECRET}, dynamodb=world.ddb, sqs=world.sqs, clock=world.clock)
    return world


def test_requests_without_the_origin_secret_are_refused_and_store_nothing(guarded):
    before = guarded.all_items()
    r = guarded.signup()
    assert r.status == 403 and r.json["type"].endswith("/not-through-edge")
    assert guarded.all_items() == before


def test_wrong_secret_is_refused(guarded):
    r = guarded.request("GET", "/v1/feed", via_edge=False, headers={HEADER: SECRET + "x"})
    assert r.status == 403


def test_right_secret_passes_and_health_needs_none(guarded):
    assert guarded.request("GET", "/v1/feed", via_edge=False, headers={HEADER: SECRET}).status == 200
    assert guarded.request("GET", "/health", via_edge=False).status == 200
