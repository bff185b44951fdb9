"""405 with Allow for every known path and a method it does not serve; OPTIONS for every path
(through the edge too); CORS grants only for configured origins, never * with credentials."""

from __future__ import annotations

import pytest

from tests.functions.test_api import problem
from tests.functions.test_openapi import spec

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
SAMPLE = {"{postId}": "p_" + "a" * 26, "{sessionId}": "s_" + "a" * 26}
APP = "https://app.example.eu"


def documented() -> dict[str, set[str]]:
    out = {}
    for path, ops in spec()["paths"].items():
        for placeholder, value in SAMPLE.items():
            path = path.replace(placeholder, value)
        out[path] = {m.upper() for m in ops if m.upper() in METHODS}
    return out


def expected_allow(methods: set[str]) -> str:
    return ", ".join(sorted(methods | {"OPTIONS"} | ({"HEAD"} if "GET" in methods else set())))


def test_put_me_is_405_not_404(world):
    r = world.call_api("PUT", "/v1/me", {}, b"")
    doc = problem(r, 405)
    assert doc["type"].endswith("/method-not-allowed") and r.headers["allow"] == "DELETE, GET, HEAD, OPTIONS, PATCH"


@pytest.mark.parametrize("path,methods", sorted(documented().items()))
def test_every_known_path_answers_405_and_options(world, path, methods):
    for method in sorted(set(METHODS) - methods):
        r = world.call_api(method, path, {}, b"")
        assert problem(r, 405) and r.headers["allow"] == expected_allow(methods), (method, path, r)
    r = world.call_api("OPTIONS", path, {}, b"")
    assert r.status == 204 and r.text == "" and r.headers["allow"] == expected_allow(methods), r
    assert "access-control-allow-origin" not in r.headers  # no origins configured


def test_unknown_paths_stay_404(world):
    for method in ("GET", "OPTIONS", "PUT"):
        problem(world.call_api(method, "/v1/nothing", {}, b""), 404)


def test_options_through_the_edge_reaches_the_api_without_a_token(world):
    for path in ("/v1/me", "/v1/me/export", "/v1/users", "/v1/feed", "/v1/me/sessions/" + SAMPLE["{sessionId}"]):
        r = world.request("OPTIONS", path, headers={"origin": APP, "access-control-request-method": "GET"})
        assert r.status == 204 and not r.at_edge, (path, r)


@pytest.fixture
def cors_world(world, modules):
    world.api = modules["api"].make_handler({**world.env, "APPX_CORS_ORIGINS": f"{APP}, https://admin.example.eu"},
                                            dynamodb=world.ddb, sqs=world.sqs, clock=world.clock)
    return world


def test_preflight_grants_configured_origins_only(cors_world):
    ask = {"access-control-request-method": "PATCH", "access-control-request-headers": "authorization, content-type"}
    r = cors_world.request("OPTIONS", "/v1/me", headers={"origin": APP, **ask})
    assert r.status == 204
    assert r.headers["access-control-allow-origin"] == APP and r.headers["vary"] == "Origin"
    assert "PATCH" in r.headers["access-control-allow-methods"] and "Authorization" in r.headers["access-control-allow-headers"]
    assert "access-control-allow-credentials" not in r.headers
    for origin, method in (("https://evil.example", "PATCH"), (APP, "PUT")):
        r = cors_world.request("OPTIONS", "/v1/me", headers={"origin": origin, "access-control-request-method": method})
        assert r.status == 204 and "access-control-allow-origin" not in r.headers, (origin, method)


def test_responses_carry_the_grant_for_allowed_origins(cors_world):
    user = cors_world.signup().json
    r = cors_world.request("GET", "/v1/me", token=user["token"], headers={"origin": APP})
    assert r.status == 200 and r.headers["access-control-allow-origin"] == APP and "Link" in r.headers["access-control-expose-headers"]
    # (a request without any token is answered by the edge itself: docs/api/operations.md, CORS)
    problem_response = cors_world.call_api("GET", "/v1/me", {"origin": APP, "authorization": "Bearer " + user["token"][:-1] + "x"}, b"")
    assert problem_response.status == 401 and problem_response.headers["access-control-allow-origin"] == APP
    other = cors_world.request("GET", "/v1/feed", headers={"origin": "https://evil.example"})
    assert "access-control-allow-origin" not in other.headers and other.headers["vary"] == "Origin"


def test_wildcard_never_with_credentials(world, modules):
    from appx_common.config import EnvError

    public = modules["api"].make_handler({**world.env, "APPX_CORS_ORIGINS": "*"}, dynamodb=world.ddb, sqs=world.sqs, clock=world.clock)
    world.api = public
    r = world.request("GET", "/v1/feed", headers={"origin": "https://any.example"})
    assert r.headers["access-control-allow-origin"] == "*" and "access-control-allow-credentials" not in r.headers
    for env in ({"APPX_CORS_ORIGINS": "*", "APPX_CORS_ALLOW_CREDENTIALS": "true"}, {"APPX_CORS_ORIGINS": "https://a.example/path"},
                {"APPX_CORS_ORIGINS": "*, https://a.example"}, {"APPX_CORS_ALLOW_CREDENTIALS": "yes"}):
        with pytest.raises(EnvError, match="APPX_CORS"):
            modules["api"].make_handler({**world.env, **env}, dynamodb=world.ddb, sqs=world.sqs, clock=world.clock)
    creds = modules["api"].make_handler({**world.env, "APPX_CORS_ORIGINS": APP, "APPX_CORS_ALLOW_CREDENTIALS": "true"},
                                        dynamodb=world.ddb, sqs=world.sqs, clock=world.clock)
    world.api = creds
    r = world.request("OPTIONS", "/v1/me", headers={"origin": APP, "access-control-request-method": "GET"})
    assert r.headers["access-control-allow-origin"] == APP and r.headers["access-control-allow-credentials"] == "true"
