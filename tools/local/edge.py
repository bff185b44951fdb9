"""The local edge: CloudFront + AWS WAF + Lambda@Edge (origin-request) + origin group, on one port.

Per viewer request, in CloudFront's order, with the distribution's own settings
(components/edge_distribution.py, components/edge_firewall.py, residency.yaml):
1. Geo restriction: with `unmappedCountries: deny` only the mapped countries are served; any
   other viewer country (header CloudFront-Viewer-Country, the local stand-in for GeoIP) gets
   CloudFront's own 403.
2. The WAF's body rule: a body over 64 KiB is blocked with the web ACL's custom response, a
   413 RFC 9457 problem (the same answer the edge function and the API give).
3. The cache behaviour by path pattern: the personal ones (no caching, the edge function with
   the body, AllViewerExceptHostHeader) or the default one (public cache policy, the public
   origin group, no function). A method the behaviour does not allow gets CloudFront's 403.
4. Cache lookup for GET/HEAD on the default behaviour (the public cache policy's key: path, query
   string, the CORS request headers) — a hit never reaches an origin. A viewer's If-None-Match
   that matches the object's ETag gets CloudFront's 304, on a hit or right after a miss.
5. The edge function runs with a CloudFront origin-request event (body included, base64).
   Its result is validated as CloudFront validates it (tools/local/cloudfront_contract.py): a
   result that fails is CloudFront's 502 (LambdaValidationError), an exception its 503
   (LambdaExecutionError). Otherwise it answers itself or returns the request, possibly with a
   new origin, new headers and a replaced (encrypted) body; the origin gets the request's Host
   header as the function left it, and the Content-Length of the body actually sent. The default
   behaviour has no origin request policy: of the viewer's headers only the cache key's reach
   the public origin (no Authorization, no CloudFront-Viewer-Country, no If-None-Match), plus
   CloudFront's own (Host, User-Agent, Via, X-Forwarded-For, the normalised
   Accept-Encoding).
6. The origin host is resolved like Route 53 latency records with health checks.
7. GET/HEAD/OPTIONS on the public origin go through an origin group: on a connection failure,
   timeout or 500/502/503/504 the secondary origin (the next region) is tried.
8. Custom error responses: a 502 or 504 (an unreachable origin, a timeout, an origin 502/504,
   a result that failed validation) is answered with status 503 and the API's own error page
   (`GET /errors/unavailable`, a problem document with Retry-After), fetched like any object
   of the default behaviour: from the edge cache, else from a healthy cell through the public
   origin group. If even the page cannot be fetched, the viewer gets CloudFront's own 502.
   The error response is cached per URL for the error caching minimum TTL (0: never).
9. The response is cached when Cache-Control allows it (s-maxage, else max-age, clamped into
   the public policy's minimum and maximum TTL; never private/no-store/no-cache; the default
   TTL without either).
10. The behaviour's response headers policy sets the security headers on every viewer
   response, and Cache-Control: no-store on the personal behaviours' responses.

Also serves the dashboard and the control API under /_control/.
"""

from __future__ import annotations

import copy
import json
import re
import threading
import time
import traceback
import uuid
from collections import OrderedDict, deque
from dataclasses import dataclass
from pathlib import Path

import urllib3

from components.edge_distribution import (ALL_METHODS, ERROR_CACHING_MIN_TTL_S, ERROR_PAGE_FOR, ERROR_PAGE_STATUS,
                                          FAILOVER_STATUS_CODES, PERSONAL_PATHS, PUBLIC_CACHE_KEY_HEADERS, PUBLIC_DEFAULT_TTL_S,
                                          PUBLIC_MAX_TTL_S, PUBLIC_MIN_TTL_S, READ_METHODS, UNAVAILABLE_PAGE,
                                          viewer_response_headers)
from components.edge_firewall import BODY_TOO_LARGE_CONTENT_TYPE, BODY_TOO_LARGE_STATUS, body_too_large_problem
from components.edge_firewall import MAX_BODY_BYTES as WAF_MAX_BODY_BYTES
from tools.local import apigw, functions
from tools.local.cloudfront_contract import LambdaValidationError, validate_origin_request_result
from tools.local.server import HttpEndpoint, exchange_handler

FAILOVER_METHODS = tuple(READ_METHODS)  # origin groups fail over GET, HEAD and OPTIONS only
FAILOVER_STATUS = tuple(FAILOVER_STATUS_CODES)
CACHE_MAX_ENTRIES = 2000
DASHBOARD = Path(__file__).with_name("dashboard.html")


@dataclass(frozen=True)
class Behaviour:
    """A cache behaviour of the distribution, as far as the local edge needs it."""

    pattern: str  # CloudFront path pattern ("*" for the default behaviour)
    personal: bool  # CachingDisabled, the edge function with the body, AllViewerExceptHostHeader
    methods: tuple[str, ...]

    def matches(self, uri: str) -> bool:
        # CloudFront path patterns: "*" any run of characters, "?" one character, case-sensitive.
        regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in self.pattern)
        return re.fullmatch(regex, uri) is not None


BEHAVIOURS = tuple(Behaviour(p, True, tuple(ALL_METHODS)) for p in PERSONAL_PATHS)
DEFAULT_BEHAVIOUR = Behaviour("*", False, tuple(READ_METHODS))


def behaviour_for(uri: str) -> Behaviour:
    return next((b for b in BEHAVIOURS if b.matches(uri)), DEFAULT_BEHAVIOUR)


def cloudfront_error(status: int, reason: str) -> tuple[int, list[tuple[str, str]], bytes]:
    """An error page CloudFront generates itself (no custom error response for the code)."""
    return status, [("Content-Type", "text/html")], f"<html><h1>{status} ERROR</h1><p>{reason}</p><p>Generated by cloudfront (CloudFront)</p></html>".encode()


PUBLIC_KEY_HEADERS = tuple(h.lower() for h in PUBLIC_CACHE_KEY_HEADERS)


def cache_ttl(headers: list[tuple[str, str]]) -> int:
    """How long the public cache policy keeps a response (CloudFront's rule for a minimum TTL
    of 0: private/no-store/no-cache are not cached; s-maxage, else max-age, clamped into
    [min, max]; the default TTL when the origin sends neither)."""
    cc = ",".join(v for k, v in headers if k.lower() == "cache-control").lower()
    directives = {}
    for part in filter(None, (p.strip() for p in cc.split(","))):
        name, _, value = part.partition("=")
        directives[name.strip()] = value.strip().strip('"')
    if {"private", "no-store", "no-cache"} & directives.keys():
        return 0
    for name in ("s-maxage", "max-age"):
        if name in directives:
            try:
                return min(max(int(directives[name]), PUBLIC_MIN_TTL_S), PUBLIC_MAX_TTL_S)
            except ValueError:
                return 0
    return PUBLIC_DEFAULT_TTL_S


def public_origin_headers(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """What the default behaviour forwards of a viewer's headers: the cache key's only (its cache
    policy; no origin request policy), Accept-Encoding as CloudFront normalises it (gzip and
    brotli are enabled in the policy), and CloudFront's User-Agent."""
    kept = [(k, v) for k, v in headers if k.lower() in PUBLIC_KEY_HEADERS]
    accepted = {c.split(";")[0].strip().lower() for k, v in headers if k.lower() == "accept-encoding" for c in v.split(",")}
    encodings = [e for e in ("br", "gzip") if e in accepted]
    if encodings:
        kept.append(("Accept-Encoding", ",".join(encodings)))
    return kept + [("User-Agent", "Amazon CloudFront")]


def not_modified(headers: list[tuple[str, str]], viewer_headers: list[tuple[str, str]]) -> bool:
    """CloudFront answers a viewer's If-None-Match itself from the object it holds."""
    etag = next((v for k, v in headers if k.lower() == "etag"), None)
    inm = next((v for k, v in viewer_headers if k.lower() == "if-none-match"), None)
    return bool(etag and inm and etag in [t.strip() for t in inm.split(",")])


def problem_kind(headers: list[tuple[str, str]], body: bytes) -> str | None:
    """The last segment of an RFC 9457 problem's type (e.g. ``token-revoked``), for the request
    view: it says why a request failed without showing anything of the request itself."""
    if not any(k.lower() == "content-type" and v.startswith("application/problem+json") for k, v in headers):
        return None
    try:
        kind = json.loads(body).get("type", "")
    except (ValueError, AttributeError):
        return None
    return kind.rsplit("/", 1)[-1][:64] if isinstance(kind, str) and kind else None


class EdgeCache:
    def __init__(self, max_entries: int = CACHE_MAX_ENTRIES):
        self._data: OrderedDict[str, tuple[float, float, int, list, bytes]] = OrderedDict()
        self._lock = threading.Lock()
        self.max_entries = max_entries
        self.hits = self.misses = 0

    def get(self, key: str):
        now = time.time()
        with self._lock:
            entry = self._data.get(key)
            if entry and entry[0] > now:
                self._data.move_to_end(key)
                self.hits += 1
                return entry
            if entry:
                del self._data[key]
            self.misses += 1
            return None

    def put(self, key: str, ttl: int, status: int, headers: list, body: bytes) -> None:
        now = time.time()
        with self._lock:
            self._data[key] = (now + ttl, now, status, headers, body)
            self._data.move_to_end(key)
            while len(self._data) > self.max_entries:
                self._data.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()

    def __len__(self) -> int:
        return len(self._data)


class Edge(HttpEndpoint):
    def __init__(self, runtime, handler, port: int = 0, default_country: str | None = None,
                 connect_timeout_s: float = 1.0, read_timeout_s: float = 10.0):
        self.runtime, self.handler = runtime, handler
        self.default_country = default_country
        self.connect_timeout, self.read_timeout = connect_timeout_s, read_timeout_s
        self.cache = EdgeCache()
        self.recent: deque = deque(maxlen=200)
        self.counters = {"requests": 0, "hits": 0, "failovers": 0, "errors503": 0, "5xx": 0}
        self.distribution = "local" + uuid.uuid4().hex[:10]
        self._pool = urllib3.PoolManager(num_pools=16, maxsize=32, retries=False, block=False)
        self._listen(port, exchange_handler(self._exchange, "CloudFront-local"))
        self._thread = threading.Thread(target=self._server.serve_forever, name="edge", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    # ------------------------------------------------------------------ HTTP
    def _exchange(self, method, path, query, headers, body, client_ip):
        if path == "/_control" or path.startswith("/_control/"):
            return self.runtime.control(method, path, query, body)
        return self.serve(method, path, query, headers, body, client_ip)

    # ------------------------------------------------------------------ request path
    def serve(self, method, uri, query, headers, body, client_ip):
        started = time.perf_counter()
        self.counters["requests"] += 1
        country = next((v for k, v in headers if k.lower() == "cloudfront-viewer-country"), None) or self.default_country
        if country and not any(k.lower() == "cloudfront-viewer-country" for k, _ in headers):
            headers = headers + [("CloudFront-Viewer-Country", country)]
        behaviour = behaviour_for(uri)
        rec = {"at": time.time(), "method": method, "path": uri, "country": country, "zone": None, "originHost": None,
               "region": None, "tried": [], "cache": "Miss", "status": None, "ms": None, "failover": False}
        try:
            status, out_headers, out = self._serve(method, uri, query, headers, body, client_ip, rec, behaviour)
        except Exception:
            traceback.print_exc()
            status, out_headers, out = 502, [("Content-Type", "application/json")], b'{"message":"edge error"}'
        rec["status"] = status
        rec["problem"] = problem_kind(out_headers, out)
        rec["ms"] = round((time.perf_counter() - started) * 1000, 1)
        if status >= 500:
            self.counters["5xx"] += 1
        self.recent.append(rec)
        # The behaviour's response headers policy (override: yes) on every viewer response.
        policy = viewer_response_headers(behaviour.personal)
        names = {k.lower() for k in policy} | {"x-cache", "via"}
        out_headers = [h for h in out_headers if h[0].lower() not in names] + list(policy.items())
        out_headers += [("X-Cache", f"{rec['cache']} from cloudfront"), ("Via", f"1.1 {self.distribution}.cloudfront.net (CloudFront)")]
        if rec["region"]:
            out_headers.append(("X-Appx-Origin-Region", rec["region"]))
        return status, out_headers, out

    @staticmethod
    def _cache_key(uri, query, headers) -> str:
        """The public cache policy's key: path, query string, the values of its headers."""
        values = {k.lower(): v for k, v in headers if k.lower() in PUBLIC_KEY_HEADERS}
        return f"{uri}?{query}#" + json.dumps([values.get(name) for name in PUBLIC_KEY_HEADERS])

    def _serve(self, method, uri, query, headers, body, client_ip, rec, behaviour):
        whitelist = self.runtime.topology.project.residency.viewer_whitelist
        if whitelist is not None and (rec["country"] or "").upper() not in whitelist:
            rec["cache"] = "Error"
            return cloudfront_error(403, "The Amazon CloudFront distribution is configured to block access from your country.")
        if len(body) > WAF_MAX_BODY_BYTES:  # the web ACL's body-size rule and its custom response
            rec["cache"] = "Error"
            return BODY_TOO_LARGE_STATUS, [("Content-Type", BODY_TOO_LARGE_CONTENT_TYPE)], json.dumps(body_too_large_problem()).encode()
        if method not in behaviour.methods:
            rec["cache"] = "Error"
            return cloudfront_error(403, "This distribution is not configured to allow the HTTP request method that was used for this request.")
        cacheable = method in ("GET", "HEAD") and not behaviour.personal
        key = self._cache_key(uri, query, headers) if cacheable else None
        if cacheable:
            hit = self.cache.get(key)
            if hit:
                expires, stored, status, h, b = hit
                rec["cache"] = "Hit"
                self.counters["hits"] += 1
                age = [("Age", str(int(time.time() - stored)))]
                if not_modified(h, headers):
                    return 304, _not_modified_headers(h) + age, b""
                return status, h + age, b
        keeps_errors = ERROR_CACHING_MIN_TTL_S > 0 and method in ("GET", "HEAD")
        cached_error = self.cache.get(self._cache_key(uri, query, []) + "#error") if keeps_errors else None
        if cached_error:  # an error response kept for the error caching minimum TTL
            rec["cache"] = "Error"
            return cached_error[2], cached_error[3], cached_error[4]

        topology = self.runtime.topology
        origin_host = topology.project.residency.default_origin_host(topology.domain) if behaviour.personal else topology.public_origin_host
        request_id = uuid.uuid4().hex
        forwarded = headers if behaviour.personal else public_origin_headers(headers)
        event = apigw.origin_request_event(method, uri, query, forwarded, body, client_ip, origin_host, self.distribution, request_id)
        request = event["Records"][0]["cf"]["request"]
        if behaviour.personal and self.handler is not None:
            incoming = copy.deepcopy(request)
            with functions.running("edge", "edge"):
                try:
                    result = self.handler(event, functions.LambdaContext("appx-edge", "us-east-1", timeout_s=30))
                    validate_origin_request_result(incoming, result)
                except LambdaValidationError as invalid:  # CloudFront's 502; the custom error response applies
                    print(f"LambdaValidationError {method} {uri}: {invalid}")
                    rec["lambdaValidation"] = [str(v) for v in invalid.violations]
                    return self._error_response(rec, method, uri, query, "LambdaValidationError")
                except Exception:  # an unhandled function error is CloudFront's own 503
                    traceback.print_exc()
                    rec["cache"] = "LambdaExecutionError"
                    return cloudfront_error(503, "The Lambda function associated with the CloudFront distribution failed (LambdaExecutionError).")
            if "status" in result:
                rec["cache"] = "LambdaGeneratedResponse"
                return apigw.cf_response(result)
            request = result
        origin = request.get("origin", {})
        host = (origin.get("custom") or origin.get("s3") or {}).get("domainName", origin_host)
        rec["originHost"] = host
        rec["zone"] = host.split(".origin.")[0] if ".origin." in host else "public"
        fwd_headers, fwd_body = apigw.cf_origin_request(request, body)
        path = request.get("uri", uri) + (f"?{request['querystring']}" if request.get("querystring") else "")

        status, out_headers, out = self._from_origin(host, method, path, fwd_headers, fwd_body, rec["country"], rec)
        if status is None or status in ERROR_PAGE_FOR:
            return self._error_response(rec, method, uri, query, "Error")
        if cacheable and 200 <= status < 400 and status != 304:
            ttl = cache_ttl(out_headers)
            if ttl > 0:
                self.cache.put(key, ttl, status, out_headers, out)
        if cacheable and status == 200 and not_modified(out_headers, headers):
            return 304, _not_modified_headers(out_headers), b""
        return status, out_headers, out

    def _error_response(self, rec, method, uri, query, cache_status):
        """The distribution's custom error response for a 502/504, kept per URL for the error
        caching minimum TTL (GET/HEAD only)."""
        status, headers, body = self._error_page(rec)
        rec["cache"] = cache_status
        if ERROR_CACHING_MIN_TTL_S > 0 and method in ("GET", "HEAD"):
            self.cache.put(self._cache_key(uri, query, []) + "#error", ERROR_CACHING_MIN_TTL_S, status, headers, body)
        return status, headers, body

    def _from_origin(self, host, method, path, headers, body, country, rec):
        """Route 53 picks the region; public GET/HEAD/OPTIONS go through the origin group.
        Returns (None, [], b"") when no origin answered (connection failure or timeout)."""
        regions = self.runtime.route53.resolve(host, country)
        group = method in FAILOVER_METHODS and host == self.runtime.topology.public_origin_host
        attempts = regions[:2] if group else regions[:1]
        status, out_headers, out = None, [], b""
        for i, region in enumerate(attempts):
            rec["tried"].append(region)
            rec["region"] = region
            try:
                status, out_headers, out = self._forward(region, method, path, headers, body)
            except Exception:  # connection failure or timeout
                status, out_headers, out = None, [], b""
            if group and (status is None or status in FAILOVER_STATUS) and i + 1 < len(attempts):
                rec["failover"] = True
                self.counters["failovers"] += 1
                continue
            break
        return status, out_headers, out

    def _error_page(self, rec):
        """CloudFront's custom error response: status 503 with the API's error page, which is
        an object of the default (public, cached) behaviour like any other."""
        self.counters["errors503"] += 1
        rec["cache"] = "Error"
        key = self._cache_key(UNAVAILABLE_PAGE, "", [])
        hit = self.cache.get(key)
        if hit:
            rec["errorPageFrom"] = "cache"
            return ERROR_PAGE_STATUS, hit[3], hit[4]
        host = self.runtime.topology.public_origin_host
        fetch = {"tried": []}
        status, headers, body = self._from_origin(host, "GET", UNAVAILABLE_PAGE, [("Host", host)], b"", rec["country"], fetch)
        rec["errorPageFrom"] = fetch.get("region")
        if status != 200:  # CloudFront could not get the page either: its own error
            return cloudfront_error(502, "The origin and the custom error page are unreachable.")
        ttl = cache_ttl(headers)
        if ttl > 0:
            self.cache.put(key, ttl, status, headers, body)
        return ERROR_PAGE_STATUS, headers, body

    def _forward(self, region, method, path, headers, body):
        cell = self.runtime.cells[region]
        r = self._pool.request(method, cell.url + path, body=body or None, headers=dict(headers),
                               timeout=urllib3.Timeout(connect=self.connect_timeout, read=self.read_timeout),
                               redirect=False, preload_content=True)
        return r.status, list(r.headers.items()), r.data


def _not_modified_headers(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [x for x in headers if x[0].lower() in ("etag", "cache-control", "vary")]
