"""Origin-request events shaped as CloudFront documents them ("Lambda@Edge event structure",
origin request example with include-body) for this distribution: the personal behaviours
forward every viewer header except Host (AllViewerExceptHostHeader), so Host is the behaviour's
origin domain; CloudFront adds Via, X-Forwarded-For and the viewer country; the body comes
base64-encoded and read-only; the origin carries the distribution's origin custom header."""

from __future__ import annotations

import base64
import copy
import json

from components.edge_distribution import ORIGIN_VERIFY_HEADER
from components.residency import load_residency
from tests.functions.conftest import DOMAIN, ROOT

RESIDENCY = load_residency(ROOT / "residency.yaml")
PERSONAL_ORIGIN = RESIDENCY.default_origin_host(DOMAIN)
DISTRIBUTION_DOMAIN = "d111111abcdef8.cloudfront.net"
MAX_INCLUDED_BODY = 1024 * 1024  # origin-request bodies are truncated at 1 MB
EU_TOKEN = "appx2.u_eu_" + "a" * 26 + ".s_" + "e" * 26 + "." + "B" * 43
DE_TOKEN = "appx2.u_de_" + "c" * 26 + ".s_" + "f" * 26 + "." + "D" * 43


def origin_request(method: str, uri: str, *, body: bytes | None = None, json_body=None, country: str | None = "FR",
                   token: str | None = None, headers: dict[str, str] | None = None, querystring: str = "",
                   content_type: str | None = "application/json") -> dict:
    if json_body is not None:
        body = json.dumps(json_body).encode()
    data = body or b""
    viewer = {"User-Agent": "Mozilla/5.0", "Accept": "application/json", "Accept-Encoding": "gzip, br"}
    if data and content_type:
        viewer["Content-Type"] = content_type
    if token:
        viewer["Authorization"] = f"Bearer {token}"
    viewer.update(headers or {})
    cf_headers = {k.lower(): [{"key": k, "value": v}] for k, v in viewer.items()}
    cf_headers["host"] = [{"key": "Host", "value": PERSONAL_ORIGIN}]
    cf_headers["via"] = [{"key": "Via", "value": f"2.0 0123456789abcdef.{DISTRIBUTION_DOMAIN.split('.', 1)[1]} (CloudFront)"}]
    cf_headers["x-forwarded-for"] = [{"key": "X-Forwarded-For", "value": "203.0.113.178"}]
    if country:
        cf_headers["cloudfront-viewer-country"] = [{"key": "CloudFront-Viewer-Country", "value": country}]
    if data:
        cf_headers["content-length"] = [{"key": "Content-Length", "value": str(len(data))}]
    request = {
        "clientIp": "203.0.113.178",
        "headers": cf_headers,
        "method": method,
        "origin": {
            "custom": {
                "customHeaders": {ORIGIN_VERIFY_HEADER: [{"key": ORIGIN_VERIFY_HEADER, "value": "origin-secret"}]},
                "domainName": PERSONAL_ORIGIN,
                "keepaliveTimeout": 5,
                "path": "",
                "port": 443,
                "protocol": "https",
                "readTimeout": 10,
                "sslProtocols": ["TLSv1.2"],
            }
        },
        "querystring": querystring,
        "uri": uri,
        "body": {
            "action": "read-only",
            "data": base64.b64encode(data[:MAX_INCLUDED_BODY]).decode(),
            "encoding": "base64",
            "inputTruncated": len(data) > MAX_INCLUDED_BODY,
        },
    }
    return {"Records": [{"cf": {"config": {"distributionDomainName": DISTRIBUTION_DOMAIN, "distributionId": "EDFDVBD6EXAMPLE",
                                           "eventType": "origin-request", "requestId": "4TyzHTaYWb1GX1qTfsHhEqV6HUDd_BzoBZnwfnvQc_1oF26ClkoUSEQ=="},
                                "request": request}}]}


def invoke(edge, event: dict) -> tuple[dict, dict]:
    """(the request exactly as CloudFront sent it, the function's result)."""
    incoming = copy.deepcopy(event["Records"][0]["cf"]["request"])
    return incoming, edge(event, None)
