"""API Gateway HTTP API (payload format 2.0) and CloudFront origin-request event shapes."""

from __future__ import annotations

import base64
import json
import time
import uuid
from urllib.parse import parse_qsl

from components.edge_distribution import ORIGIN_KEEPALIVE_TIMEOUT_S, ORIGIN_READ_TIMEOUT_S, ORIGIN_SSL_PROTOCOLS
from tools.local.cloudfront_contract import MAX_BODY_BYTES, is_disallowed

_TEXT_TYPES = ("application/json", "text/", "application/xml", "application/x-www-form-urlencoded", "application/problem+json")


def http_api_event(method: str, path: str, query: str, headers: list[tuple[str, str]], body: bytes,
                   source_ip: str, domain: str, region: str) -> dict:
    lower: dict[str, str] = {}
    cookies: list[str] = []
    for k, v in headers:
        k = k.lower()
        if k == "cookie":
            cookies.extend(c.strip() for c in v.split(";") if c.strip())
            continue
        lower[k] = f"{lower[k]},{v}" if k in lower else v
    qs: dict[str, str] = {}
    for k, v in parse_qsl(query, keep_blank_values=True):
        qs[k] = f"{qs[k]},{v}" if k in qs else v
    ctype = lower.get("content-type", "")
    is_text = not body or any(ctype.startswith(t) for t in _TEXT_TYPES)
    if is_text:
        try:
            text, b64 = body.decode("utf-8"), False
        except UnicodeDecodeError:
            text, b64 = base64.b64encode(body).decode(), True
    else:
        text, b64 = base64.b64encode(body).decode(), True
    now = time.time()
    event = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": query,
        "headers": lower,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": f"local{region.replace('-', '')}",
            "domainName": domain,
            "domainPrefix": domain.split(".")[0],
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": source_ip,
                     "userAgent": lower.get("user-agent", "")},
            "requestId": uuid.uuid4().hex[:16],
            "routeKey": "$default",
            "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "timeEpoch": int(now * 1000),
        },
        "isBase64Encoded": b64,
    }
    if cookies:
        event["cookies"] = cookies
    if qs:
        event["queryStringParameters"] = qs
    if body:
        event["body"] = text
    return event


def http_api_response(result) -> tuple[int, list[tuple[str, str]], bytes]:
    """Interpret a handler's return value as API Gateway does for payload format 2.0."""
    if not (isinstance(result, dict) and "statusCode" in result):
        # Format 2.0 inference: anything else is a 200 JSON body.
        body = result if isinstance(result, str) else json.dumps(result)
        return 200, [("Content-Type", "application/json")], body.encode()
    status = int(result["statusCode"])
    headers = [(k, str(v)) for k, v in (result.get("headers") or {}).items()]
    for k, values in (result.get("multiValueHeaders") or {}).items():
        headers.extend((k, str(v)) for v in values)
    for c in result.get("cookies") or []:
        headers.append(("Set-Cookie", c))
    raw = result.get("body") or ""
    body = base64.b64decode(raw) if result.get("isBase64Encoded") else (raw.encode() if isinstance(raw, str) else json.dumps(raw).encode())
    if not any(k.lower() == "content-type" for k, _ in headers):
        headers.append(("Content-Type", "application/json"))
    return status, headers, body


# ---------------------------------------------------------------------------------------------
# CloudFront

# Hop-by-hop and framing headers of the viewer connection: CloudFront does not forward them as
# the viewer sent them (it sets its own Content-Length, Via and X-Forwarded-For).
_VIEWER_ONLY = {"connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade",
                "content-length", "via", "x-forwarded-for"}


def origin_request_event(method: str, uri: str, query: str, headers: list[tuple[str, str]], body: bytes,
                         client_ip: str, origin_host: str, distribution: str, request_id: str) -> dict:
    """The event of an origin-request function on a behaviour with include-body and the
    AllViewerExceptHostHeader origin request policy: every viewer header except Host (Host is the
    origin's domain), minus what CloudFront never exposes, plus the headers CloudFront adds."""
    cf_headers: dict[str, list[dict[str, str]]] = {}
    for k, v in headers:
        lk = k.lower()
        if lk in _VIEWER_ONLY or lk == "host" or is_disallowed(lk):
            continue
        cf_headers.setdefault(lk, []).append({"key": k, "value": v})
    cf_headers["host"] = [{"key": "Host", "value": origin_host}]
    cf_headers["via"] = [{"key": "Via", "value": f"2.0 {request_id[:32]}.cloudfront.net (CloudFront)"}]
    cf_headers["x-forwarded-for"] = [{"key": "X-Forwarded-For", "value": client_ip}]
    if body:
        cf_headers["content-length"] = [{"key": "Content-Length", "value": str(len(body))}]
    request = {
        "clientIp": client_ip,
        "headers": cf_headers,
        "method": method,
        "origin": {"custom": {"customHeaders": {}, "domainName": origin_host, "keepaliveTimeout": ORIGIN_KEEPALIVE_TIMEOUT_S,
                              "path": "", "port": 443, "protocol": "https", "readTimeout": ORIGIN_READ_TIMEOUT_S,
                              "sslProtocols": list(ORIGIN_SSL_PROTOCOLS)}},
        "querystring": query,
        "uri": uri,
        "body": {"action": "read-only", "data": base64.b64encode(body[:MAX_BODY_BYTES]).decode(), "encoding": "base64",
                 "inputTruncated": len(body) > MAX_BODY_BYTES},
    }
    return {"Records": [{"cf": {"config": {"distributionDomainName": f"{distribution}.cloudfront.net",
                                           "distributionId": distribution.upper(), "eventType": "origin-request",
                                           "requestId": request_id},
                                "request": request}}]}


def cf_origin_request(request: dict, original: bytes) -> tuple[list[tuple[str, str]], bytes]:
    """The headers and body CloudFront sends to the origin for a (validated) request result: the
    origin's custom headers added, the Content-Length of the body actually sent."""
    body = original
    spec = request.get("body") or {}
    if spec.get("action") == "replace":
        data = spec.get("data", "")
        body = base64.b64decode(data) if spec.get("encoding", "base64") == "base64" else data.encode()
    origin = request.get("origin") or {}
    custom = (origin.get("custom") or origin.get("s3") or {}).get("customHeaders") or {}
    headers = [(v.get("key", k), v["value"]) for table in (request.get("headers", {}), custom)
               for k, vals in table.items() if k != "content-length" for v in vals]
    if body:
        headers.append(("Content-Length", str(len(body))))
    return headers, body


def cf_response(result: dict) -> tuple[int, list[tuple[str, str]], bytes]:
    """A response generated by an origin-request function."""
    headers = [(v["key"] if "key" in v else k, v["value"]) for k, vals in (result.get("headers") or {}).items() for v in vals]
    raw = result.get("body") or ""
    body = base64.b64decode(raw) if result.get("bodyEncoding") == "base64" else raw.encode()
    return int(result.get("status", 200)), headers, body
