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
5. An unreachable origin becomes 503 with Retry-After: the custom error response the global
   stack configures for 502/504 (never a bare 5xx without Retry-After).
6. The response is cached when Cache-Control allows it (s-maxage, else max-age; never
   private/no-store/no-cache; default TTL 0).

Also serves the dashboard and the control API under /_control/.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
import traceback
import uuid
from collections import OrderedDict, deque
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import urllib3

from tools.local import apigw, functions
from tools.local.server import HttpEndpoint

FAILOVER_METHODS = ("GET", "HEAD", "OPTIONS")
FAILOVER_STATUS = (500, 502, 503, 504)
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
                 connect_timeout_s: float = 1.0, read_timeout_s: float = 10.0, retry_after_s: int = 5):
        self.runtime, self.handler = runtime, handler
        self.default_country = default_country
        self.connect_timeout, self.read_timeout, self.retry_after = connect_timeout_s, read_timeout_s, retry_after_s
        self.cache = EdgeCache()
        self.recent: deque = deque(maxlen=200)
        self.counters = {"requests": 0, "hits": 0, "failovers": 0, "errors503": 0, "5xx": 0}
        self.distribution = "local" + uuid.uuid4().hex[:10]
        self._pool = urllib3.PoolManager(num_pools=16, maxsize=32, retries=False, block=False)
        self._listen(port, self._handler_class())
        self._thread = threading.Thread(target=self._server.serve_forever, name="edge", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    # ------------------------------------------------------------------ HTTP
    def _handler_class(self):
        edge = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            server_version = "CloudFront-local"

            def log_message(self, *args):
                pass

            def _serve(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                path, _, query = self.path.partition("?")
                if path == "/_control" or path.startswith("/_control/"):
                    status, headers, out = edge.runtime.control(self.command, path, query, body)
                else:
                    status, headers, out = edge.serve(self.command, path, query, list(self.headers.items()), body,
                                                      self.client_address[0])
                self.send_response(status)
                for k, v in headers:
                    if k.lower() not in ("content-length", "connection", "transfer-encoding", "server", "date"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(out)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _serve

        return Handler

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
            with functions.running("edge", "edge"):
                result = self.handler(event, functions.LambdaContext("appx-edge", "us-east-1", timeout_s=30))
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
        country = next((v for k, v in headers if k.lower() == "cloudfront-viewer-country"), None)

        regions = self.runtime.route53.resolve(host, country)
        if not regions:
            return 502, [("Content-Type", "application/json")], b'{"message":"no origin for host"}'
        group = method in FAILOVER_METHODS and host == public_host
        attempts = regions[:2] if group else regions[:1]
        status, out_headers, out = None, [], b""
        for i, region in enumerate(attempts):
            rec["tried"].append(region)
            rec["region"] = region
            try:
                status, out_headers, out = self._forward(region, method, path, fwd_headers, fwd_body)
            except Exception as exc:  # connection failure or timeout
                status, out_headers, out = None, [], str(exc.__class__.__name__).encode()
            if group and (status is None or status in FAILOVER_STATUS) and i + 1 < len(attempts):
                rec["failover"] = True
                self.counters["failovers"] += 1
                continue
            break
        if status is None:
            # CloudFront 502/504 → custom error response 503 with Retry-After.
            self.counters["errors503"] += 1
            rec["cache"] = "Error"
            msg = json.dumps({"message": "origin unreachable; retry later", "retryAfterSeconds": self.retry_after}).encode()
            return 503, [("Content-Type", "application/json"), ("Retry-After", str(self.retry_after)), ("Cache-Control", "no-store")], msg
        if cacheable and 200 <= status < 400 and status != 304:
            ttl = cache_ttl(out_headers)
            if ttl > 0:
                self.cache.put(key, ttl, status, out_headers, out)
        return status, out_headers, out

    def _forward(self, region, method, path, headers, body):
        cell = self.runtime.cells[region]
        r = self._pool.request(method, cell.url + path, body=body or None, headers=dict(headers),
                               timeout=urllib3.Timeout(connect=self.connect_timeout, read=self.read_timeout),
                               redirect=False, preload_content=True)
        return r.status, list(r.headers.items()), r.data
