"""The validator can fail: every kind of result CloudFront rejects is rejected here, by rule."""

from __future__ import annotations

import base64
import copy
import json

import pytest

from components.edge_firewall import MAX_BODY_BYTES as WAF_BODY_LIMIT
from components.edge_firewall import body_too_large_problem
from tests.contract.events import EU_TOKEN, invoke, origin_request
from tests.functions.conftest import load_handler
from tools.local.cloudfront_contract import (MAX_BODY_BYTES, LambdaValidationError, check_origin_request_result,
                                             validate_origin_request_result)


@pytest.fixture
def sealed(edge):
    """A valid result: a sign-up the function sealed (replaced body, new origin and Host)."""
    return invoke(edge, origin_request("POST", "/v1/users", json_body={"email": "a@example.fr", "name": "A"}, country="FR"))


def rules(incoming, result) -> set[str]:
    return {v.rule for v in check_origin_request_result(incoming, result)}


def header(name: str, value: str) -> list[dict]:
    return [{"key": name, "value": value}]


def _set(path: str, value):
    def mutate(request):
        *parents, last = path.split(".")
        target = request
        for part in parents:
            target = target.setdefault(part, {})
        if value is _DELETE:
            del target[last]
        else:
            target[last] = value
    return mutate


_DELETE = object()

REQUEST_MUTATIONS = {
    # the defect of issue 8: deleting the read-only Content-Length after sealing the body
    "delete content-length": (_set("headers.content-length", _DELETE), "read-only-header"),
    "change content-length": (_set("headers.content-length", header("Content-Length", "1")), "read-only-header"),
    "delete via": (_set("headers.via", _DELETE), "read-only-header"),
    "add transfer-encoding": (_set("headers.transfer-encoding", header("Transfer-Encoding", "chunked")), "read-only-header"),
    "add if-none-match": (_set("headers.if-none-match", header("If-None-Match", '"x"')), "read-only-header"),
    "change accept-encoding": (_set("headers.accept-encoding", header("Accept-Encoding", "identity")), "read-only-header"),
    "add x-forwarded-proto": (_set("headers.x-forwarded-proto", header("X-Forwarded-Proto", "https")), "disallowed-header"),
    "add connection": (_set("headers.connection", header("Connection", "close")), "disallowed-header"),
    "add x-amz-cf-id": (_set("headers.x-amz-cf-id", header("X-Amz-Cf-Id", "x")), "disallowed-header"),
    "add x-edge-location": (_set("headers.x-edge-location", header("X-Edge-Location", "x")), "disallowed-header"),
    "uppercase header key": (_set("headers.X-Appx-Zone", header("X-Appx-Zone", "eu")), "header-shape"),
    "header not an array": (_set("headers.x-appx-zone", {"key": "X-Appx-Zone", "value": "eu"}), "header-shape"),
    "empty header array": (_set("headers.x-appx-zone", []), "header-shape"),
    "header value not a string": (_set("headers.x-appx-zone", [{"key": "X-Appx-Zone", "value": 5}]), "header-value"),
    "header value with CRLF": (_set("headers.x-appx-zone", header("X-Appx-Zone", "eu\r\nX-Evil: 1")), "header-value"),
    "header key names another header": (_set("headers.x-appx-zone", header("X-Appx-Subject", "eu")), "header-shape"),
    "method changed": (_set("method", "PUT"), "read-only-field"),
    "client ip changed": (_set("clientIp", "198.51.100.1"), "read-only-field"),
    "uri without slash": (_set("uri", "v1/users"), "uri"),
    "uri too long": (_set("uri", "/" + "a" * 8200), "uri"),
    "query with a space": (_set("querystring", "a=b c"), "querystring"),
    "query with a fragment": (_set("querystring", "a=b#c"), "querystring"),
    "body not base64": (_set("body.data", "not base64!"), "body-encoding"),
    "body encoding unknown": (_set("body.encoding", "hex"), "body-encoding"),
    "body action unknown": (_set("body.action", "delete"), "body"),
    "body text over 1 MB": (lambda r: r["body"].update(encoding="text", data="x" * (MAX_BODY_BYTES + 1)), "body-size"),
    "body base64 over 1.33 MB": (lambda r: r["body"].update(data=base64.b64encode(b"x" * (MAX_BODY_BYTES + 3)).decode()), "body-size"),
    "replaced body without data": (_set("body.data", None), "body"),
    "origin custom and s3": (_set("origin.s3", {"domainName": "b.s3.amazonaws.com", "authMethod": "none", "path": ""}), "origin-shape"),
    "origin empty": (_set("origin", {}), "origin-shape"),
    "origin port 1023": (_set("origin.custom.port", 1023), "origin-port"),
    "origin port as text": (_set("origin.custom.port", "443"), "origin-port"),
    "origin domain with port": (_set("origin.custom.domainName", "eu.origin.appx.example.eu:443"), "origin-domain"),
    "origin domain IPv4": (_set("origin.custom.domainName", "192.0.2.10"), "origin-domain"),
    "origin domain empty": (_set("origin.custom.domainName", ""), "origin-domain"),
    "origin protocol ftp": (_set("origin.custom.protocol", "ftp"), "origin-protocol"),
    "read timeout 3": (_set("origin.custom.readTimeout", 3), "origin-timeout"),
    "read timeout 61": (_set("origin.custom.readTimeout", 61), "origin-timeout"),
    "keepalive 0": (_set("origin.custom.keepaliveTimeout", 0), "origin-timeout"),
    "keepalive true": (_set("origin.custom.keepaliveTimeout", True), "origin-timeout"),
    "ssl TLSv1.3": (_set("origin.custom.sslProtocols", ["TLSv1.3"]), "origin-ssl"),
    "ssl empty": (_set("origin.custom.sslProtocols", []), "origin-ssl"),
    "path trailing slash": (_set("origin.custom.path", "/api/"), "origin-path"),
    "path without slash": (_set("origin.custom.path", "api"), "origin-path"),
    "custom header host": (_set("origin.custom.customHeaders.host", header("Host", "x")), "custom-header"),
    "custom header x-amz-": (_set("origin.custom.customHeaders.x-amz-date", header("X-Amz-Date", "x")), "custom-header"),
    "custom header also a request header": (_set("origin.custom.customHeaders.x-appx-zone", header("X-Appx-Zone", "eu")), "custom-header"),
    "custom headers not a map": (_set("origin.custom.customHeaders", [1]), "header-shape"),
}


@pytest.mark.parametrize("mutation", sorted(REQUEST_MUTATIONS))
def test_each_request_violation_is_rejected_by_its_rule(sealed, mutation):
    incoming, result = sealed
    assert rules(incoming, result) == set()
    change, rule = REQUEST_MUTATIONS[mutation]
    broken = copy.deepcopy(result)
    change(broken)
    assert rule in rules(incoming, broken)
    with pytest.raises(LambdaValidationError, match="failed validation"):
        validate_origin_request_result(incoming, broken)


def test_s3_origin_rules(sealed):
    incoming, result = sealed
    good = {"authMethod": "origin-access-identity", "domainName": "bucket.s3.amazonaws.com", "path": "", "region": "eu-west-1", "customHeaders": {}}
    assert rules(incoming, {**result, "origin": {"s3": good}}) == set()
    assert "origin-s3-auth" in rules(incoming, {**result, "origin": {"s3": {**good, "authMethod": "iam"}}})
    assert "origin-s3-auth" in rules(incoming, {**result, "origin": {"s3": {**good, "region": None}}})
    assert "origin-domain" in rules(incoming, {**result, "origin": {"s3": {**good, "domainName": "Bucket.s3.amazonaws.com"}}})


def test_a_body_added_without_include_body_is_rejected(sealed):
    incoming, result = sealed
    assert "body" in rules({k: v for k, v in incoming.items() if k != "body"}, result)


def _problem(status=400, **extra):
    return {"status": str(status), "statusDescription": "Bad Request",
            "headers": {"content-type": header("Content-Type", "application/problem+json")}, "body": "{}", **extra}


GENERATED_MUTATIONS = {
    "status 199": (_problem(199), "response-status"),
    "status 600": (_problem(600), "response-status"),
    "status not a number": (_problem("abc"), "response-status"),
    "description not a string": (_problem(statusDescription=400), "response-status"),
    "body encoding gzip": (_problem(bodyEncoding="gzip"), "body-encoding"),
    "body not base64": (_problem(bodyEncoding="base64", body="%%%"), "body-encoding"),
    "body an object": (_problem(body={"a": 1}), "body"),
    "body over 1 MB": (_problem(body="x" * (1024 * 1024)), "response-size"),
    "disallowed header": (_problem(headers={"x-cache": header("X-Cache", "Hit")}), "disallowed-header"),
    "header shape": (_problem(headers={"Content-Type": header("Content-Type", "x")}), "header-shape"),
}


@pytest.mark.parametrize("mutation", sorted(GENERATED_MUTATIONS))
def test_each_generated_response_violation_is_rejected_by_its_rule(sealed, mutation):
    incoming, _ = sealed
    assert rules(incoming, _problem()) == set()
    assert rules(incoming, {**_problem(), "status": 413}) == set()  # a number is accepted too
    response, rule = GENERATED_MUTATIONS[mutation]
    assert rule in rules(incoming, response)


@pytest.mark.parametrize("result", [None, "ok", ["request"], 502])
def test_a_result_that_is_no_object_is_rejected(sealed, result):
    assert rules(sealed[0], result) == {"result-shape"}


def test_the_waf_limit_and_answer_are_the_apis():
    # One limit, one answer: the WAF's 413 is the API's and the edge's problem, at the same size.
    api, edge = load_handler("api"), load_handler("edge")
    assert WAF_BODY_LIMIT == api.MAX_BODY_BYTES == edge.DEFAULT_MAX_BODY_BYTES
    from appx_common.json_body import parse_json_object
    from appx_common.problems import Problem

    with pytest.raises(Problem) as raised:
        parse_json_object(b"x" * (WAF_BODY_LIMIT + 1), "application/json", api.MAX_BODY_BYTES)
    assert body_too_large_problem() == raised.value.body()
    assert json.loads(json.dumps(body_too_large_problem()))["status"] == 413
