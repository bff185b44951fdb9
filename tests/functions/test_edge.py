"""The edge function alone: routing, body validation and sealing."""

from __future__ import annotations

import base64
import json

import pytest

from tests.functions.conftest import edge_event

PLAIN = {"email": "alice@example.org", "name": "Alice", "phone": "+49 30 1234", "birthDate": "1990-04-01"}


@pytest.fixture
def edge(modules, edge_config):
    return modules["edge"].make_handler({}, config=edge_config)


def run(edge, method, path, body=None, country="FR", token=None, headers=None, raw=None, truncated=False):
    hdrs = {}
    if body is not None or raw is not None:
        hdrs["content-type"] = [{"key": "Content-Type", "value": "application/json"}]
    if token:
        hdrs["authorization"] = [{"key": "Authorization", "value": f"Bearer {token}"}]
    if country:
        hdrs["cloudfront-viewer-country"] = [{"key": "CloudFront-Viewer-Country", "value": country}]
    for k, v in (headers or {}).items():
        hdrs[k.lower()] = [{"key": k, "value": v}]
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else b"")
    event = edge_event(method, path, hdrs, data)
    event["Records"][0]["cf"]["request"]["body"]["inputTruncated"] = truncated
    return edge(event, None)


def status(out):
    return int(out["status"]) if "status" in out else None


def body_of(out):
    return json.loads(base64.b64decode(out["body"]["data"]))


def test_signup_routes_by_country_and_seals(edge, keys, modules):
    out = run(edge, "POST", "/v1/users", {**PLAIN, "locale": "de-DE"}, country="DE")
    assert "status" not in out
    assert out["origin"]["custom"]["domainName"] == "de.origin.appx.example.eu"
    assert out["headers"]["host"][0]["value"] == "de.origin.appx.example.eu"
    assert out["headers"]["x-appx-zone"][0]["value"] == "de"
    subject = out["headers"]["x-appx-subject"][0]["value"]
    assert subject.startswith("u_de_")
    assert out["body"]["action"] == "replace" and out["body"]["inputTruncated"] is False
    doc = body_of(out)
    assert doc["locale"] == "de-DE"
    from appx_common.envelope import open_token, parse_token
    from appx_common.keys import LocalKeyProvider

    provider = LocalKeyProvider(keys["dir"])
    wrapped = {parse_token(doc[f]).wrapped_key for f in PLAIN}
    assert len(wrapped) == 1  # one RSA wrap per request
    assert edge.app.rsa_operations == 1
    for f, v in PLAIN.items():
        assert open_token(doc[f], f, subject, "de", provider.unwrap) == v


def test_fr_goes_to_eu_zone(edge):
    out = run(edge, "POST", "/v1/users", PLAIN, country="FR")
    assert out["origin"]["custom"]["domainName"] == "eu.origin.appx.example.eu"


def test_unmapped_country_denied(edge, edge_config, modules):
    assert status(run(edge, "POST", "/v1/users", PLAIN, country="US")) == 403
    assert status(run(edge, "POST", "/v1/users", PLAIN, country=None)) == 403
    placed = modules["edge"].make_handler({}, config={**edge_config, "unmappedCountries": "eu"})
    assert run(placed, "POST", "/v1/users", PLAIN, country="US")["headers"]["x-appx-zone"][0]["value"] == "eu"


def test_token_routes_to_users_zone(edge):
    token = "appx2.u_de_" + "a" * 26 + ".s_" + "a" * 26 + "." + "B" * 43
    out = run(edge, "PATCH", "/v1/me", {"email": "new@example.org"}, token=token, country="FR")
    assert out["origin"]["custom"]["domainName"] == "de.origin.appx.example.eu"
    assert body_of(out)["email"].startswith("appxenc1.de.")
    out = run(edge, "GET", "/v1/me", token=token)
    assert out["origin"]["custom"]["domainName"] == "de.origin.appx.example.eu"


@pytest.mark.parametrize("token", [None, "nope", "appx2.u_zz_" + "a" * 26 + ".s_" + "a" * 26 + "." + "B" * 43])
def test_personal_routes_need_token(edge, token):
    out = run(edge, "GET", "/v1/me", token=token)
    assert status(out) == 401 and out["headers"]["content-type"][0]["value"] == "application/problem+json"
    assert out["headers"]["www-authenticate"][0]["value"].startswith("Bearer")


def test_public_get_untouched_and_spoofed_headers_stripped(edge):
    out = run(edge, "GET", "/v1/feed", headers={"X-Appx-Zone": "de", "X-Appx-Subject": "u_de_" + "a" * 26})
    assert out["origin"]["custom"]["domainName"] == "origin.appx.example.eu"
    assert not any(k.startswith("x-appx-") for k in out["headers"])
    out = run(edge, "POST", "/v1/users", PLAIN, headers={"X-Appx-Subject": "u_eu_" + "a" * 26})
    assert out["headers"]["x-appx-subject"][0]["value"] != "u_eu_" + "a" * 26


@pytest.mark.parametrize(
    "kwargs,code",
    [
        ({"raw": b"{not json"}, 400),
        ({"raw": b"[1,2]"}, 400),
        ({"raw": b'{"a": NaN}'}, 400),
        ({"raw": b"\xff\xfe"}, 400),
        ({"raw": b'{"email": "\\ud800"}'}, 400),  # lone surrogate in a sealed field
        ({"raw": b'{"name": "A", "bio": "\\udc00"}'}, 400),  # and in a field kept in plaintext
        ({"body": {"email": "appxenc1.eu.x.y.z.w"}}, 400),
        ({"body": {"name": "A", "bio": ["  APPXENC1.fake"]}}, 400),
        ({"body": PLAIN, "truncated": True}, 413),
        ({"raw": b'{"a":"' + b"x" * 70000 + b'"}'}, 413),
        ({"body": PLAIN, "headers": {"Content-Type": "text/plain"}}, 415),
    ],
)
def test_bad_bodies_answered_at_edge(edge, kwargs, code):
    out = run(edge, "POST", "/v1/users", **kwargs)
    assert status(out) == code, out
    assert json.loads(out["body"])["status"] == code


def test_body_without_sensitive_fields_not_rewritten(edge):
    token = "appx2.u_eu_" + "a" * 26 + ".s_" + "a" * 26 + "." + "B" * 43
    out = run(edge, "POST", "/v1/posts", {"text": "hi"}, token=token)
    assert out["body"]["action"] == "read-only" and edge.app.rsa_operations == 0


def test_s3_style_origin_replaced_by_custom(edge):
    hdrs = {"content-type": [{"key": "Content-Type", "value": "application/json"}], "cloudfront-viewer-country": [{"key": "x", "value": "FR"}]}
    event = edge_event("POST", "/v1/users", hdrs, json.dumps(PLAIN).encode())
    event["Records"][0]["cf"]["request"]["origin"] = {"s3": {"domainName": "b.s3.amazonaws.com"}}
    out = edge(event, None)
    assert out["origin"] == {"custom": {**out["origin"]["custom"], "domainName": "eu.origin.appx.example.eu"}}
    assert "s3" not in out["origin"]


def test_config_file_next_to_handler(modules, edge_config, tmp_path):
    path = tmp_path / "config.json"
    path.write_text(json.dumps(edge_config))
    h = modules["edge"].make_handler({}, config_path=path)
    assert h.app.public_origin == "origin.appx.example.eu"
    with pytest.raises(ValueError):
        modules["edge"].make_handler({}, config={**edge_config, "version": 2})


def test_body_digest_only_with_idempotency_key_and_keyed_by_it(edge):
    def digest(body, key):
        out = run(edge, "POST", "/v1/users", body, headers={"Idempotency-Key": key} if key else None)
        return out["headers"].get("x-appx-body-digest", [{}])[0].get("value")

    assert digest(PLAIN, None) is None
    d = digest(PLAIN, "key-00000001")
    assert d and d == digest(dict(reversed(PLAIN.items())), "key-00000001")  # canonical JSON
    assert d != digest({**PLAIN, "name": "Bob"}, "key-00000001")
    assert d != digest(PLAIN, "key-00000002")
    for value in PLAIN.values():
        assert value not in d
    spoofed = run(edge, "POST", "/v1/users", PLAIN, headers={"X-Appx-Body-Digest": "forged"})
    assert "x-appx-body-digest" not in spoofed["headers"]


@pytest.mark.parametrize("value", [12345, {"a": "b"}, ["x"], True, "", "   ", "x" * 1025])
def test_sensitive_field_must_be_a_bounded_string(edge, value):
    # The API cannot look inside the ciphertext, and reads these fields back as strings.
    out = run(edge, "POST", "/v1/users", {**PLAIN, "email": value})
    assert status(out) == 422 and json.loads(out["body"])["field"] == "email"
    assert edge.app.rsa_operations == 0


@pytest.mark.parametrize("depth", [64, 100, 500, 900])
def test_deep_nesting_has_its_own_reason(edge, depth):
    out = run(edge, "POST", "/v1/users", raw=b'{"a":' + b"[" * depth + b"]" * depth + b"}")
    assert status(out) == 400 and json.loads(out["body"])["type"].endswith("/too-deeply-nested")


def test_nesting_within_the_limit_passes(edge):
    token = "appx2.u_eu_" + "a" * 26 + ".s_" + "a" * 26 + "." + "B" * 43
    out = run(edge, "POST", "/v1/posts", raw=b'{"text":"hi","x":' + b"[" * 62 + b"]" * 62 + b"}", token=token)
    assert "status" not in out


APP = "https://app.example.eu"


def _cors(out) -> dict:
    return {k: v[0]["value"] for k, v in out["headers"].items() if k.startswith("access-control-") or k == "vary"}


@pytest.mark.parametrize("method,path,kwargs,code", [
    ("GET", "/v1/me", {}, 401),                                          # no token
    ("POST", "/v1/users", {"body": PLAIN, "country": "US"}, 403),        # country not served
    ("POST", "/v1/users", {"body": PLAIN, "truncated": True}, 413),      # past the include-body limit
    ("POST", "/v1/users", {"raw": b"{not json"}, 400),
])
def test_the_edges_own_problems_grant_an_allowed_origin_as_the_api_does(modules, edge_config, method, path, kwargs, code):
    edge = modules["edge"].make_handler({}, config={**edge_config, "corsOrigins": [APP, "https://admin.example.eu:8443"]})
    allowed = run(edge, method, path, headers={"Origin": APP}, **kwargs)
    assert status(allowed) == code
    exposed = {"Access-Control-Allow-Origin": APP, "Vary": "Origin"}
    assert {k: v for k, v in _cors(allowed).items() if k != "access-control-expose-headers"} == {k.lower(): v for k, v in exposed.items()}
    assert "WWW-Authenticate" in _cors(allowed)["access-control-expose-headers"]  # a browser can read why
    for other in ("https://evil.example", "https://app.example.eu.evil.example", "http://app.example.eu", None):
        refused = run(edge, method, path, headers={"Origin": other} if other else None, **kwargs)
        assert status(refused) == code and _cors(refused) == {"vary": "Origin"}, other


def test_no_origins_no_cors_headers_and_a_wildcard_grants_any_origin_without_vary(edge, modules, edge_config):
    assert _cors(run(edge, "GET", "/v1/me", headers={"Origin": APP})) == {}
    anyone = modules["edge"].make_handler({}, config={**edge_config, "corsOrigins": ["*"]})
    cors = _cors(run(anyone, "GET", "/v1/me", headers={"Origin": "https://anything.example"}))
    assert cors["access-control-allow-origin"] == "*" and "vary" not in cors and "access-control-allow-credentials" not in cors


@pytest.mark.parametrize("origins", ["https://app.example.eu", ["https://app.example.eu/path"], ["*", APP], ["APP.example.eu"]])
def test_a_bad_origin_list_in_the_edge_config_is_refused_at_load(modules, edge_config, origins):
    with pytest.raises(ValueError, match="corsOrigins"):
        modules["edge"].make_handler({}, config={**edge_config, "corsOrigins": origins})


def test_an_allowed_origins_problem_still_passes_cloudfronts_validation(modules, edge_config):
    from tools.local.cloudfront_contract import validate_origin_request_result

    edge = modules["edge"].make_handler({}, config={**edge_config, "corsOrigins": [APP]})
    event = edge_event("GET", "/v1/me", {"origin": [{"key": "Origin", "value": APP}]}, b"")
    incoming = json.loads(json.dumps(event["Records"][0]["cf"]["request"]))
    validate_origin_request_result(incoming, edge(event, None))
