"""The runtime machinery on its own, in-process, with a tiny stand-in app (tests/e2e/standin.py):
topology from the project files, CloudFront cache rules, replication honouring replica sets,
Route 53 health + fail-open, the origin group, faults and the control API."""

from __future__ import annotations

import json
import time
import urllib.request
from pathlib import Path

import pytest
import yaml

from tests.e2e import standin
from tools.local import aws
from tools.local.__main__ import main as cli
from tools.local.edge import cache_ttl, public_origin_headers
from tools.local.runtime import Options, Runtime
from tools.local.topology import load_topology

ROOT = Path(__file__).resolve().parents[2]


def test_topology_comes_from_residency_and_stack_files():
    t = load_topology(ROOT)
    assert set(t.cell_regions) == {"eu-west-1", "eu-central-1", "eu-west-3"}
    assert t.table("appx-restricted-de").replicas == ("eu-central-1",)
    assert set(t.table("appx-restricted-eu").replicas) == set(t.cell_regions)
    assert set(t.table("appx-posts").replicas) == set(t.cell_regions) and t.table("appx-posts").replicated
    assert not t.table("appx-feed").replicated
    edge = yaml.safe_load((ROOT / "Pulumi.global.yaml").read_text())["config"]["appx:edge"]
    assert t.health_check_failure_threshold == edge["healthCheckFailureThreshold"]
    assert t.origin_hosts["de.origin.appx.example.eu"] == ("eu-central-1",)
    assert t.latency_order("DE", t.cell_regions)[0] == "eu-central-1"
    assert t.latency_order("IE", t.cell_regions)[0] == "eu-west-1"
    assert t.latency_order("FR", t.cell_regions)[0] == "eu-west-3"


@pytest.mark.parametrize("header,ttl", [
    ("public, max-age=30", 30), ("public, s-maxage=60, max-age=5", 60), ("private, max-age=30", 0),
    ("no-store", 0), ("no-cache, max-age=10", 0), ("", 0), ("max-age=abc", 0),
    ("public, max-age=86400", 300),  # clamped to the public cache policy's maximum TTL
])
def test_cache_ttl_follows_cache_control(header, ttl):
    assert cache_ttl([("Cache-Control", header)] if header else []) == ttl


def test_the_public_origin_sees_only_the_cache_keys_viewer_headers():
    viewer = [("Authorization", "Bearer t"), ("CloudFront-Viewer-Country", "FR"), ("If-None-Match", '"e"'), ("Cookie", "a=b"),
              ("origin", "https://web.appx.test"), ("Access-Control-Request-Method", "GET"), ("Accept-Encoding", "deflate, gzip;q=1.0, br")]
    assert public_origin_headers(viewer) == [("origin", "https://web.appx.test"), ("Access-Control-Request-Method", "GET"),
                                             ("Accept-Encoding", "br,gzip"), ("User-Agent", "Amazon CloudFront")]


@pytest.fixture(scope="module")
def rt(tmp_path_factory):
    runtime = Runtime(ROOT, Options(state_dir=tmp_path_factory.mktemp("machinery"), health_interval_s=0.2, dns_ttl_s=0.3,
                                    handler_factories=standin.FACTORIES)).start()
    try:
        yield runtime
    finally:
        runtime.stop()


def call(rt, method, path, body=None, country="FR", base=None, headers=None):
    req = urllib.request.Request((base or rt.edge.url) + path, data=body, method=method,
                                 headers={"CloudFront-Viewer-Country": country, **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, {k.lower(): v for k, v in r.headers.items()}, r.read()
    except urllib.error.HTTPError as e:
        return e.code, {k.lower(): v for k, v in e.headers.items()}, e.read()


def test_replication_honours_replica_sets(rt):
    rt.fault("recover")
    s, h, b = call(rt, "POST", "/v1/users", b'{"email":"x"}', "DE")
    assert s == 201 and h["x-appx-origin-region"] == "eu-central-1"
    de_user = json.loads(b)["id"]
    s, h, b = call(rt, "POST", "/v1/users", b'{"email":"y"}', "FR")
    eu_user = json.loads(b)["id"]
    assert rt.wait_idle(5)
    for region in rt.topology.cell_regions:
        everything = json.dumps({t.name: aws.table_items(region, t.name) for t in rt.topology.tables_in(region)}, default=str)
        assert eu_user in everything
        assert (de_user in everything) == (region == "eu-central-1")


def test_cut_replication_holds_then_drains(rt):
    rt.fault("recover")
    rt.fault("cut-replication", "eu-west-1")
    s, h, b = call(rt, "POST", "/v1/posts", b"held", "FR")
    pid = json.loads(b)["id"]
    time.sleep(0.5)
    assert not any(i["pk"]["S"] == pid for i in aws.table_items("eu-west-1", "appx-posts"))
    assert any(l["pending"] and l["to"] == "eu-west-1" for l in rt.replicator.lag())
    rt.fault("recover", "eu-west-1")
    assert rt.wait_idle(5)
    assert any(i["pk"]["S"] == pid for i in aws.table_items("eu-west-1", "appx-posts"))


def test_cache_failover_health_and_fail_open(rt):
    rt.fault("recover")
    s, h, b = call(rt, "POST", "/v1/posts", b"cached", "FR")
    pid = json.loads(b)["id"]
    assert rt.wait_idle(5)
    first = call(rt, "GET", f"/v1/posts/{pid}")
    second = call(rt, "GET", f"/v1/posts/{pid}")
    assert first[1]["x-cache"].startswith("Miss") and second[1]["x-cache"].startswith("Hit")

    rt.fault("down", "eu-west-3")  # FR's nearest region
    s, h, _ = call(rt, "GET", f"/v1/posts/{pid}?bust=1")  # cache miss → origin group fails over
    assert s == 200 and h["x-appx-origin-region"] != "eu-west-3"
    deadline = time.monotonic() + 5
    while rt.health.healthy["eu-west-3"] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not rt.health.healthy["eu-west-3"]

    rt.fault("down", "eu-central-1")
    deadline = time.monotonic() + 5
    while rt.health.healthy["eu-central-1"] and time.monotonic() < deadline:
        time.sleep(0.05)
    rt.route53.flush()
    # Every de record unhealthy: Route 53 fails open, the origin is unreachable → CloudFront's
    # custom error response: 503 with the error page of a healthy cell (the only one left).
    assert rt.route53.resolve("de.origin.appx.example.eu", "DE") == ["eu-central-1"]
    s, h, b = call(rt, "POST", "/v1/users", b"{}", "DE")
    assert (s, h["retry-after"], json.loads(b)["from"]) == (503, "30", "eu-west-1")
    assert rt.edge.recent[-1]["errorPageFrom"] == "eu-west-1"

    rt.fault("down", "eu-west-1")
    s, h, b = call(rt, "POST", "/v1/users", b"{}", "DE")  # the page now comes from the edge cache
    assert (s, json.loads(b)["from"], rt.edge.recent[-1]["errorPageFrom"]) == (503, "eu-west-1", "cache")
    rt.edge.cache.clear()
    assert call(rt, "POST", "/v1/users", b"{}", "DE")[0] == 502  # no page anywhere: CloudFront's own 502
    rt.fault("recover")


def test_cli_faults_reach_the_running_stack(rt):
    rt.fault("recover")
    assert cli(["fault", "slow", "eu-west-1", "--ms", "7", "--state-dir", str(rt.state_dir)]) == 0
    assert rt.cells["eu-west-1"].faults.slow_ms == 7
    assert cli(["fault", "cut-replication", "--state-dir", str(rt.state_dir)]) == 0
    assert rt.replicator.cut_all
    assert cli(["status", "--state-dir", str(rt.state_dir)]) == 0
    assert cli(["fault", "recover", "--state-dir", str(rt.state_dir)]) == 0
    assert rt.cells["eu-west-1"].faults.slow_ms == 0 and not rt.replicator.cut_all


def test_status_prints_the_storage_endpoint_and_what_each_zone_is_served_by(rt, capsys):
    rt.fault("recover")
    capsys.readouterr()
    assert cli(["status", "--state-dir", str(rt.state_dir)]) == 0
    out = capsys.readouterr().out
    assert f"storage       {rt.moto.url}" in out
    assert "zone de       served by eu-central-1" in out
    rt.fault("down", "eu-central-1")
    try:
        assert cli(["status", "--state-dir", str(rt.state_dir)]) == 0
        out = capsys.readouterr().out
        assert "zone de       UNAVAILABLE" in out
        assert "zone eu       served by eu-west-1, eu-west-3" in out
    finally:
        rt.fault("recover")


def test_state_says_per_zone_whether_it_is_served_right_now(rt):
    rt.fault("recover")
    zones = {z["zone"]: z for z in json.loads(call(rt, "GET", "/_control/state")[2])["zones"]}
    assert zones["de"]["status"] == "served" and zones["de"]["servedBy"] == ["eu-central-1"]
    rt.fault("storage-down", "eu-central-1")  # its DynamoDB answers 503: the strict zone cannot serve
    try:
        state = json.loads(call(rt, "GET", "/_control/state")[2])
        zones = {z["zone"]: z for z in state["zones"]}
        assert zones["de"]["status"] == "unavailable" and zones["de"]["servedBy"] == []
        assert zones["eu"]["status"] == "served" and "eu-central-1" not in zones["eu"]["servedBy"]
        assert state["storage"]["moto"] == rt.moto.url
    finally:
        rt.fault("recover")


def test_control_api_and_errors(rt):
    s, h, b = call(rt, "GET", "/_control/state")
    state = json.loads(b)
    assert {r["region"] for r in state["regions"]} == set(rt.topology.cell_regions)
    req = urllib.request.Request(rt.edge.url + "/_control/faults", data=b'{"action":"explode","region":"eu-west-1"}', method="POST")
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(req, timeout=5)
    assert err.value.code == 400
    assert call(rt, "GET", "/boom")[0] == 500  # a crashing Lambda is API Gateway's 500 (no custom error response)
    s, h, b = call(rt, "GET", "/gateway-timeout")  # an origin 504 gets the custom error response
    assert (s, h["retry-after"], json.loads(b)["status"]) == (503, "30", 503)
    s, h, b = call(rt, "GET", "/_control/")
    assert s == 200 and b"Take region down" in b


@pytest.mark.parametrize("country", ["US", "CN", "RU", "ZZ"])
def test_geo_restriction_refuses_countries_outside_the_residency_map(rt, country):
    s, h, b = call(rt, "GET", "/gateway-timeout", country=country)
    assert s == 403 and h["x-cache"] == "Error from cloudfront" and b"block access from your country" in b
    assert call(rt, "POST", "/v1/users", b"{}", country)[0] == 403
    assert not rt.edge.recent[-1]["tried"]  # nothing reached an origin


def test_waf_answers_bodies_over_64_kib_with_the_apis_413_problem(rt):
    s, h, b = call(rt, "POST", "/v1/posts", b"x" * (64 * 1024 + 1), "FR")
    problem = json.loads(b)
    assert (s, h["content-type"], problem["status"]) == (413, "application/json", 413)
    assert problem["type"].endswith("/body-too-large") and not rt.edge.recent[-1]["tried"]
    assert call(rt, "POST", "/v1/posts", b"x" * (64 * 1024), "FR")[0] == 201  # at the limit: served


def test_methods_the_behaviour_does_not_allow_are_refused(rt):
    s, h, b = call(rt, "POST", "/v1/feed", b"{}", "FR")  # the default behaviour allows GET, HEAD, OPTIONS
    assert s == 403 and b"not configured to allow the HTTP request method" in b


def test_every_response_carries_the_security_headers(rt):
    for method, path in (("GET", "/gateway-timeout"), ("POST", "/v1/users"), ("GET", "/nothing")):
        _, h, _ = call(rt, method, path, b"{}" if method == "POST" else None, "FR")
        assert h["strict-transport-security"].startswith("max-age=63072000")
        assert (h["x-content-type-options"], h["x-frame-options"], h["referrer-policy"]) == ("nosniff", "DENY", "no-referrer")


def test_a_result_that_fails_validation_is_cloudfronts_502_with_the_error_page(rt):
    rt.fault("recover")
    s, h, b = call(rt, "POST", "/v1/posts", b"x", "FR", headers={"X-Standin-Delete": "content-length"})
    assert (s, h["x-cache"], h["retry-after"]) == (503, "LambdaValidationError from cloudfront", "30")
    # A 503 on a personal route is never cacheable downstream, though the page itself is.
    assert h["cache-control"] == "no-store"
    assert any(v.startswith("read-only-header") for v in rt.edge.recent[-1]["lambdaValidation"])
    assert not rt.edge.recent[-1]["tried"]


def test_passed_through_requests_reach_api_gateway_with_its_own_host(rt):
    # The viewer's Host (the application's name) is not forwarded: API Gateway would answer 403.
    app_host = rt.topology.project.settings.app_host
    direct = call(rt, "OPTIONS", "/v1/posts", base=rt.cells["eu-west-1"].url, headers={"Host": app_host})
    assert direct[0] == 403 and json.loads(direct[2]) == {"message": "Forbidden"}
    s, h, b = call(rt, "OPTIONS", "/v1/posts", headers={"Host": app_host})
    assert s == 404 and json.loads(b) == {"error": "no route"}  # the stand-in API's own answer
    assert rt.edge.recent[-1]["originHost"] == rt.topology.project.residency.default_origin_host(rt.topology.domain)


def test_error_responses_are_kept_per_url_for_the_error_caching_ttl(rt, monkeypatch):
    from tools.local import edge as local_edge

    assert local_edge.ERROR_CACHING_MIN_TTL_S == 0  # the distribution's: never
    call(rt, "GET", "/gateway-timeout")
    assert rt.edge.recent[-1]["tried"]  # with TTL 0 every error goes back to the origin
    monkeypatch.setattr(local_edge, "ERROR_CACHING_MIN_TTL_S", 30)
    first = call(rt, "GET", "/gateway-timeout?ttl=1")
    second = call(rt, "GET", "/gateway-timeout?ttl=1")
    assert first[0] == second[0] == 503 and rt.edge.recent[-1]["tried"] == [] and second[1]["x-cache"] == "Error from cloudfront"
