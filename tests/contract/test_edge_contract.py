"""The real edge function, fed CloudFront's documented origin-request events, returns only
results CloudFront accepts (tools/local/cloudfront_contract.py), whatever the request."""

from __future__ import annotations

import base64
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from components.edge_distribution import ORIGIN_VERIFY_HEADER
from tests.contract.events import DE_TOKEN, EU_TOKEN, PERSONAL_ORIGIN, invoke, origin_request
from tools.local.cloudfront_contract import (READ_ONLY_ORIGIN_REQUEST_HEADERS, check_origin_request_result,
                                             is_generated_response)

PROFILE = {"email": "marie@example.fr", "name": "Marie", "phone": "+33 1 23 45 67 89", "birthDate": "1990-04-01"}

# name -> (event arguments, expected generated status or None for a request sent on)
CASES = {
    "sign-up FR": (dict(method="POST", uri="/v1/users", json_body={**PROFILE, "locale": "fr-FR"}, country="FR"), None),
    "sign-up DE": (dict(method="POST", uri="/v1/users", json_body=PROFILE, country="DE"), None),
    "sign-up with idempotency key": (dict(method="POST", uri="/v1/users", json_body=PROFILE, headers={"Idempotency-Key": "k-000000000001"}), None),
    "sign-up, unmapped country": (dict(method="POST", uri="/v1/users", json_body=PROFILE, country="US"), 403),
    "PATCH /v1/me sensitive field": (dict(method="PATCH", uri="/v1/me", json_body={"email": "new@example.fr"}, token=EU_TOKEN), None),
    "PATCH /v1/me plain field": (dict(method="PATCH", uri="/v1/me", json_body={"locale": "de-DE"}, token=DE_TOKEN, country="FR"), None),
    "GET /v1/me": (dict(method="GET", uri="/v1/me", token=EU_TOKEN), None),
    "GET /v1/me/export": (dict(method="GET", uri="/v1/me/export", token=DE_TOKEN), None),
    "DELETE /v1/me": (dict(method="DELETE", uri="/v1/me", token=EU_TOKEN), None),
    "GET /v1/me without token": (dict(method="GET", uri="/v1/me"), 401),
    "POST /v1/posts": (dict(method="POST", uri="/v1/posts", json_body={"text": "bonjour"}, token=EU_TOKEN), None),
    "POST /v1/posts astral text": (dict(method="POST", uri="/v1/posts", body=b'{"text": "\\ud83d\\ude00"}', token=EU_TOKEN), None),
    "public GET": (dict(method="GET", uri="/v1/users", querystring="limit=10", headers={"If-None-Match": '"abc"'}), None),
    "OPTIONS preflight": (dict(method="OPTIONS", uri="/v1/posts", content_type=None,
                               headers={"Origin": "https://app.example", "Access-Control-Request-Method": "POST"}), None),
    "lone surrogate, sign-up": (dict(method="POST", uri="/v1/users", body=b'{"email": "\\ud800", "name": "M"}'), 400),
    "lone surrogate, PATCH": (dict(method="PATCH", uri="/v1/me", body=b'{"name": "x\\udfffy"}', token=EU_TOKEN), 400),
    "lone surrogate, posts": (dict(method="POST", uri="/v1/posts", body=b'{"text": "\\ud800"}', token=EU_TOKEN), 400),
    "lone surrogate in a key": (dict(method="POST", uri="/v1/posts", body=b'{"\\udc00": 1}', token=EU_TOKEN), 400),
    "oversize body": (dict(method="POST", uri="/v1/posts", json_body={"text": "x" * 70_000}, token=EU_TOKEN), 413),
    "body past CloudFront's 1 MB": (dict(method="POST", uri="/v1/users", json_body={"name": "x" * 1_100_000}), 413),
    "non-JSON media type": (dict(method="POST", uri="/v1/users", json_body=PROFILE, content_type="text/plain"), 415),
    "malformed JSON": (dict(method="POST", uri="/v1/users", body=b'{"email": '), 400),
    "truncated UTF-8": (dict(method="POST", uri="/v1/posts", body='{"text": "é"}'.encode()[:-3], token=EU_TOKEN), 400),
    "JSON array": (dict(method="PATCH", uri="/v1/me", body=b"[1]", token=EU_TOKEN), 400),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_every_documented_request_gets_a_result_cloudfront_accepts(edge, case):
    arguments, expected = CASES[case]
    incoming, result = invoke(edge, origin_request(**arguments))
    assert check_origin_request_result(incoming, result) == []
    if expected is None:
        assert not is_generated_response(result), result
        for name in READ_ONLY_ORIGIN_REQUEST_HEADERS:
            assert result["headers"].get(name) == incoming["headers"].get(name)
    else:
        assert int(result["status"]) == expected, result
        problem = json.loads(result["body"])
        assert problem["status"] == expected and problem["type"].startswith("https://")


def test_a_sealed_body_keeps_the_viewers_content_length(edge):
    # CloudFront sets the length of a replaced body itself; the header is read-only.
    incoming, result = invoke(edge, origin_request("POST", "/v1/users", json_body=PROFILE, country="DE"))
    assert result["body"]["action"] == "replace"
    assert len(base64.b64decode(result["body"]["data"])) != int(incoming["headers"]["content-length"][0]["value"])
    assert result["headers"]["content-length"] == incoming["headers"]["content-length"]


def test_routed_requests_name_the_zone_origin_in_host_and_keep_the_origin_custom_header(edge):
    incoming, result = invoke(edge, origin_request("PATCH", "/v1/me", json_body={"name": "N"}, token=DE_TOKEN))
    origin = result["origin"]["custom"]
    assert origin["domainName"] == "de.origin.appx.example.eu" == result["headers"]["host"][0]["value"]
    assert origin["customHeaders"] == incoming["origin"]["custom"]["customHeaders"]


def test_passed_through_requests_are_returned_unchanged(edge):
    # OPTIONS and public reads reach the behaviour's origin with its own domain as Host.
    for method, uri in (("OPTIONS", "/v1/users"), ("OPTIONS", "/v1/posts"), ("GET", "/v1/users"), ("HEAD", "/v1/posts")):
        incoming, result = invoke(edge, origin_request(method, uri, content_type=None))
        assert result == incoming and result["headers"]["host"][0]["value"] == PERSONAL_ORIGIN


def test_a_viewer_cannot_smuggle_the_origin_secret(edge):
    incoming, result = invoke(edge, origin_request("POST", "/v1/posts", json_body={"text": "t"}, token=EU_TOKEN,
                                                   headers={ORIGIN_VERIFY_HEADER: "guess"}))
    assert ORIGIN_VERIFY_HEADER not in result["headers"]
    assert check_origin_request_result(incoming, result) == []


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(st.characters(codec=None)),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(doc=st.dictionaries(st.sampled_from(["email", "name", "text", "locale", "bio"]) | st.text(max_size=6), _json, max_size=5),
       method=st.sampled_from(["POST", "PATCH"]), escape=st.booleans())
def test_any_json_body_gets_an_accepted_result_or_a_4xx_problem(edge, doc, method, escape):
    # Drawn text includes lone surrogates: with ensure_ascii they arrive as \udXXX escapes,
    # without it as the (invalid UTF-8) bytes a careless client would send.
    raw = json.dumps(doc, ensure_ascii=escape).encode("utf-8", "surrogatepass")
    uri = "/v1/users" if method == "POST" else "/v1/me"
    incoming, result = invoke(edge, origin_request(method, uri, body=raw, token=EU_TOKEN))
    assert check_origin_request_result(incoming, result) == []
    if is_generated_response(result):
        assert 400 <= int(result["status"]) < 500, result
