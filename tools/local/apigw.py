"""API Gateway HTTP API (payload format 2.0) and CloudFront origin-request event shapes."""

from __future__ import annotations

import base64
import json
import time
import uuid
from urllib.parse import parse_qsl

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

# Headers CloudFront does not pass to origin-request functions / origins (hop-by-hop or
# owned by CloudFront).
_CF_DROPPED = {"connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade",
               "content-length", "expect", "x-forwarded-proto", "via", "x-amz-cf-id"}


def origin_request_event(method: str, uri: str, query: str, headers: list[tuple[str, str]], body: bytes,
                         client_ip: str, origin_host: str, distribution: str, request_id: str) -> dict:
    cf_headers: dict[str, list[dict[str, str]]] = {}
    for k, v in headers:
        lk = k.lower()
        if lk in _CF_DROPPED:
            continue
        cf_headers.setdefault(lk, []).append({"key": k, "value": v})
    cf_headers["host"] = [{"key": "Host", "value": origin_host}]
    request = {
        "clientIp": client_ip,
        "headers": cf_headers,
        "method": method,
        "origin": {"custom": {"customHeaders": {}, "domainName": origin_host, "keepaliveTimeout": 5, "path": "",
                              "port": 443, "protocol": "https", "readTimeout": 30, "sslProtocols": ["TLSv1.2"]}},
        "querystring": query,
        "uri": uri,
    }
    if method in ("POST", "PUT", "PATCH", "DELETE"):
        request["body"] = {"action": "read-only", "data": base64.b64encode(body).decode(), "encoding": "base64",
                           "inputTruncated": len(body) > 1_048_576}
    return {"Records": [{"cf": {"config": {"distributionDomainName": f"{distribution}.cloudfront.net",
                                           "distributionId": distribution.upper(), "eventType": "origin-request",
                                           "requestId": request_id},
                                "request": request}}]}


def cf_request_body(request: dict, original: bytes) -> bytes:
    body = request.get("body")
    if not body or body.get("action") != "replace":
        return original
    data = body.get("data", "")
    return base64.b64decode(data) if body.get("encoding", "base64") == "base64" else data.encode()


def cf_response(result: dict) -> tuple[int, list[tuple[str, str]], bytes]:
    """A response generated by an origin-request function."""
    headers = [(v["key"] if "key" in v else k, v["value"]) for k, vals in (result.get("headers") or {}).items() for v in vals]
    raw = result.get("body") or ""
    body = base64.b64decode(raw) if result.get("bodyEncoding") == "base64" else raw.encode()
    return int(result.get("status", 200)), headers, body
