"""The local edge: CloudFront + Lambda@Edge (origin-request) + origin group, on one port.

Per viewer request, in CloudFront's order:
1. Cache lookup for GET/HEAD (key: path, query, Authorization) — a hit never reaches the
   function or an origin.
2. The edge function (functions/edge) runs with a CloudFront origin-request event (body
   included, base64). It answers itself or returns the request, possibly with a new origin
   host, new headers and a replaced (encrypted) body.
3. The origin host is resolved like Route 53 latency records with health checks.
4. GET/HEAD/OPTIONS on the public origin go through an origin group: on a connection failure,
   timeout or 500/502/503/504 the secondary origin (the next region) is tried.
5. Custom error responses, as the global stack configures them: an unreachable origin, a
   timeout, or an origin 502/504 is answered with status 503 and the API's own error page
   (`GET /errors/unavailable`, a problem document with Retry-After), fetched like any object
   of the default behaviour: from the edge cache, else from a healthy cell through the public
   origin group. If even the page cannot be fetched, the viewer gets CloudFront's own 502.
6. The response is cached when Cache-Control allows it (s-maxage, else max-age; never
   private/no-store/no-cache; default TTL 0).

Also serves the dashboard and the control API under /_control/.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
import traceback
import uuid
from collections import OrderedDict, deque
from pathlib import Path

import urllib3

from components.edge_distribution import UNAVAILABLE_PAGE
from tools.local import apigw, functions
from tools.local.server import HttpEndpoint, exchange_handler

FAILOVER_METHODS = ("GET", "HEAD", "OPTIONS")
FAILOVER_STATUS = (500, 502, 503, 504)
ERROR_PAGE_FOR = (502, 504)  # the distribution's custom_error_responses: error_code -> 503 + page
ERROR_PAGE_STATUS = 503
CACHE_MAX_ENTRIES = 2000
DASHBOARD = Path(__file__).with_name("dashboard.html")


def cache_ttl(headers: list[tuple[str, str]]) -> int:
    cc = ",".join(v for k, v in headers if k.lower() == "cache-control").lower()
    if not cc:
        return 0
    directives = {}
    for part in cc.split(","):
        name, _, value = part.strip().partition("=")
        directives[name.strip()] = value.strip().strip('"')
    if {"private", "no-store", "no-cache"} & directives.keys():
        return 0
    for name in ("s-maxage", "max-age"):
        if name in directives:
            try:
                return max(0, int(directives[name]))
            except ValueError:
                return 0
    return 0


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
        rec = {"at": time.time(), "method": method, "path": uri, "country": country, "zone": None, "originHost": None,
               "region": None, "tried": [], "cache": "Miss", "status": None, "ms": None, "failover": False}
        try:
            status, out_headers, out = self._serve(method, uri, query, headers, body, client_ip, rec)
        except Exception:
            traceback.print_exc()
            status, out_headers, out = 502, [("Content-Type", "application/json")], b'{"message":"edge error"}'
        rec["status"] = status
        rec["problem"] = problem_kind(out_headers, out)
        rec["ms"] = round((time.perf_counter() - started) * 1000, 1)
        if status >= 500:
            self.counters["5xx"] += 1
        self.recent.append(rec)
        out_headers = [h for h in out_headers if h[0].lower() not in ("x-cache", "via")]
        out_headers += [("X-Cache", f"{rec['cache']} from cloudfront"), ("Via", f"1.1 {self.distribution}.cloudfront.net (CloudFront)")]
        if rec["region"]:
            out_headers.append(("X-Appx-Origin-Region", rec["region"]))
        return status, out_headers, out

    def _cache_key(self, uri, query, headers) -> str:
        auth = next((v for k, v in headers if k.lower() == "authorization"), "")
        return f"{uri}?{query}#" + hashlib.sha256(auth.encode()).hexdigest()[:16]

    def _serve(self, method, uri, query, headers, body, client_ip, rec):
        cacheable = method in ("GET", "HEAD")
        key = self._cache_key(uri, query, headers) if cacheable else None
        if cacheable:
            hit = self.cache.get(key)
            if hit:
                expires, stored, status, h, b = hit
                rec["cache"] = "Hit"
                self.counters["hits"] += 1
                etag = next((v for k, v in h if k.lower() == "etag"), None)
                inm = next((v for k, v in headers if k.lower() == "if-none-match"), None)
                age = [("Age", str(int(time.time() - stored)))]
                if etag and inm and etag in [t.strip() for t in inm.split(",")]:
                    return 304, [x for x in h if x[0].lower() in ("etag", "cache-control")] + age, b""
                return status, h + age, b

        # Lambda@Edge origin-request
        public_host = self.runtime.topology.public_origin_host
        request_id = uuid.uuid4().hex
        event = apigw.origin_request_event(method, uri, query, headers, body, client_ip, public_host, self.distribution, request_id)
        if self.handler is not None:
            try:
                with functions.running("edge", "edge"):
                    result = self.handler(event, functions.LambdaContext("appx-edge", "us-east-1", timeout_s=30))
            except Exception:  # a Lambda@Edge execution error is CloudFront's 502 (custom error response applies)
                with functions.running("edge", "edge"):
                    traceback.print_exc()
                return self._error_page(rec)
        else:
            result = event["Records"][0]["cf"]["request"]
        if isinstance(result, dict) and "status" in result and "uri" not in result:
            rec["cache"] = "LambdaGeneratedResponse"
            return apigw.cf_response(result)
        request = result
        host = request.get("origin", {}).get("custom", {}).get("domainName", public_host)
        rec["originHost"] = host
        rec["zone"] = host.split(".origin.")[0] if ".origin." in host else "public"
        fwd_body = apigw.cf_request_body(request, body)
        fwd_headers = [(v.get("key", k), v["value"]) for k, vals in request.get("headers", {}).items() for v in vals]
        fwd_headers = [h for h in fwd_headers if h[0].lower() != "host"] + [("Host", host)]
        if fwd_body:
            fwd_headers.append(("Content-Length", str(len(fwd_body))))
        path = request.get("uri", uri) + (f"?{request['querystring']}" if request.get("querystring") else "")

        status, out_headers, out = self._from_origin(host, method, path, fwd_headers, fwd_body, rec["country"], rec)
        if status is None or status in ERROR_PAGE_FOR:
            return self._error_page(rec)
        if cacheable and 200 <= status < 400 and status != 304:
            ttl = cache_ttl(out_headers)
            if ttl > 0:
                self.cache.put(key, ttl, status, out_headers, out)
        return status, out_headers, out

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
            return 502, [("Content-Type", "text/plain")], b"502 Bad Gateway: the origin and the error page are unreachable"
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
