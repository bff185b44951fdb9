"""CloudFront's validation of a Lambda@Edge origin-request result, as documented.

CloudFront checks what an origin-request function returns before it uses it; a result that
breaks a rule is discarded and the viewer gets a 502 ("The Lambda function result failed
validation: ..."), which the distribution's custom error responses may then rewrite. The local
edge runs this check on every result and the contract tests (tests/contract) feed the real edge
function documented events through it, so a result AWS would reject never passes here.

Sources (CloudFront Developer Guide): "Restrictions on all edge functions" (disallowed and
read-only headers, URI and query string), "Restrictions on Lambda@Edge" (include-body sizes),
"Lambda@Edge event structure" (request and origin fields and their ranges), "Adding custom
headers to origin requests" (headers an origin custom header may not set), "Generating HTTP
responses in request triggers" (status, body encoding, 1 MB response size).
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# Read-only in origin-request events: a result may not add, change or delete them.
READ_ONLY_ORIGIN_REQUEST_HEADERS = (
    "accept-encoding", "content-length", "if-modified-since", "if-none-match", "if-range",
    "if-unmodified-since", "transfer-encoding", "via",
)
# Never exposed to edge functions, and a function may not add them.
DISALLOWED_HEADERS = frozenset({
    "connection", "expect", "keep-alive", "proxy-authenticate", "proxy-authorization", "proxy-connection",
    "trailer", "upgrade", "x-accel-buffering", "x-accel-charset", "x-accel-limit-rate", "x-accel-redirect",
    "x-amzn-auth", "x-amzn-cf-billing", "x-amzn-cf-id", "x-amzn-cf-xff", "x-amzn-errortype", "x-amzn-fle-profile",
    "x-amzn-header-count", "x-amzn-header-order", "x-amzn-lambda-integration-tag", "x-amzn-requestid", "x-cache",
    "x-forwarded-proto", "x-real-ip",
})
DISALLOWED_HEADER_PREFIXES = ("x-amz-cf-", "x-edge-")
# Origin custom headers (distribution or origin object) may not set these.
CUSTOM_HEADER_DENYLIST = frozenset({
    "cache-control", "connection", "content-length", "cookie", "host", "if-match", "if-modified-since",
    "if-none-match", "if-range", "if-unmodified-since", "max-forwards", "pragma", "proxy-authorization",
    "proxy-connection", "range", "request-range", "te", "trailer", "transfer-encoding", "upgrade", "via", "x-real-ip",
})
CUSTOM_HEADER_DENIED_PREFIXES = ("x-amz-", "x-edge-")

MAX_BODY_BYTES = 1024 * 1024  # include-body: origin-request bodies are exposed and replaceable up to 1 MB
# A replaced body is limited to 1 MB as text and 1.33 MB as base64, i.e. 1 MB once decoded.
MAX_BASE64_BODY_CHARS = 4 * -(-MAX_BODY_BYTES // 3)
MAX_GENERATED_RESPONSE_BYTES = 1024 * 1024  # headers and body of a response an origin-request function generates
MAX_URI_AND_QUERY_CHARS = 8192  # "must be less than 8,192 characters"
BODY_ACTIONS = ("read-only", "replace")
BODY_ENCODINGS = ("base64", "text")
SSL_PROTOCOLS = frozenset({"TLSv1.2", "TLSv1.1", "TLSv1", "SSLv3"})
ORIGIN_PROTOCOLS = ("http", "https")
S3_AUTH_METHODS = ("origin-access-identity", "none")
KEEPALIVE_TIMEOUT_S = (1, 60)
READ_TIMEOUT_S = (4, 60)
GENERATED_STATUS = (200, 599)

_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")  # RFC 9110 field-name
_BAD_VALUE_CHARS = re.compile(r"[\x00\r\n]")
_BAD_QUERY_CHARS = re.compile(r"[\x00-\x20\x7f#]")


@dataclass(frozen=True)
class Violation:
    rule: str  # a short name of the CloudFront rule, e.g. "read-only-header"
    detail: str

    def __str__(self) -> str:
        return f"{self.rule}: {self.detail}"


class LambdaValidationError(Exception):
    """What CloudFront reports (and answers with a 502) when a result fails validation."""

    def __init__(self, violations: list[Violation]):
        self.violations = violations
        super().__init__("The Lambda function result failed validation: " + "; ".join(map(str, violations)))


def is_generated_response(result: Any) -> bool:
    return isinstance(result, Mapping) and "status" in result


def validate_origin_request_result(incoming: Mapping, result: Any) -> None:
    """Raise LambdaValidationError unless CloudFront would accept ``result``. ``incoming`` is
    the request object exactly as CloudFront passed it (a copy taken before the function ran)."""
    violations = check_origin_request_result(incoming, result)
    if violations:
        raise LambdaValidationError(violations)


def check_origin_request_result(incoming: Mapping, result: Any) -> list[Violation]:
    if not isinstance(result, Mapping):
        return [Violation("result-shape", f"the result must be a request or a response object, not {type(result).__name__}")]
    if is_generated_response(result):
        return _check_generated_response(result)
    return _check_request(incoming, result)


# ------------------------------------------------------------------ the request
def _check_request(incoming: Mapping, request: Mapping) -> list[Violation]:
    out: list[Violation] = []
    for field in ("clientIp", "method"):
        if request.get(field) != incoming.get(field):
            out.append(Violation("read-only-field", f"{field} is read-only ({incoming.get(field)!r} -> {request.get(field)!r})"))
    out += _check_uri(request.get("uri"), request.get("querystring", ""))
    headers = request.get("headers", {})
    shape = _check_header_map(headers, "request.headers")
    out += shape
    if not shape:
        out += _check_read_only(incoming.get("headers") or {}, headers)
        out += [Violation("disallowed-header", f"request.headers may not carry {name}") for name in headers if is_disallowed(name)]
    if "body" in request:
        out += _check_body(incoming.get("body"), request["body"])
    if "origin" in request:
        out += _check_origin(request["origin"], headers if not shape else {})
    return out


def _check_uri(uri: Any, query: Any) -> list[Violation]:
    out = []
    if not isinstance(uri, str) or not uri.startswith("/"):
        out.append(Violation("uri", f"uri must be a string starting with '/', got {uri!r}"))
    if not isinstance(query, str):
        out.append(Violation("querystring", f"querystring must be a string, got {type(query).__name__}"))
    elif _BAD_QUERY_CHARS.search(query):
        out.append(Violation("querystring", "querystring may not hold spaces, control characters or '#'"))
    if isinstance(uri, str) and isinstance(query, str) and len(uri) + 1 + len(query) >= MAX_URI_AND_QUERY_CHARS:
        out.append(Violation("uri", f"uri and query string must be shorter than {MAX_URI_AND_QUERY_CHARS} characters"))
    return out


def _check_header_map(headers: Any, where: str) -> list[Violation]:
    if not isinstance(headers, Mapping):
        return [Violation("header-shape", f"{where} must be an object keyed by lowercase header name")]
    out = []
    for name, entries in headers.items():
        if not isinstance(name, str) or not _TOKEN.match(name) or name != name.lower():
            out.append(Violation("header-shape", f"{where} key {name!r} must be a lowercase header name"))
            continue
        if not isinstance(entries, list) or not entries:
            out.append(Violation("header-shape", f"{where}[{name!r}] must be a non-empty array of {{key, value}}"))
            continue
        for entry in entries:
            if not isinstance(entry, Mapping) or set(entry) - {"key", "value"}:
                out.append(Violation("header-shape", f"{where}[{name!r}] entries are {{key, value}} objects"))
            elif not isinstance(entry.get("value"), str):
                out.append(Violation("header-value", f"{where}[{name!r}] value must be a string, got {type(entry.get('value')).__name__}"))
            elif _BAD_VALUE_CHARS.search(entry["value"]):
                out.append(Violation("header-value", f"{where}[{name!r}] value may not hold CR, LF or NUL"))
            elif "key" in entry and (not isinstance(entry["key"], str) or entry["key"].lower() != name):
                out.append(Violation("header-shape", f"{where}[{name!r}] key {entry.get('key')!r} must name the same header"))
    return out


def _check_read_only(before: Mapping, after: Mapping) -> list[Violation]:
    out = []
    for name in READ_ONLY_ORIGIN_REQUEST_HEADERS:
        was, now = before.get(name), after.get(name)
        if was != now:
            verb = "add" if was is None else "delete" if now is None else "change"
            out.append(Violation("read-only-header", f"the function tried to {verb} the read-only header {name}"))
    return out


def is_disallowed(name: str) -> bool:
    return name in DISALLOWED_HEADERS or name.startswith(DISALLOWED_HEADER_PREFIXES)


def _decoded_size(data: str, encoding: str, where: str) -> tuple[int | None, Violation | None]:
    if encoding == "text":
        return len(data.encode("utf-8", "surrogatepass")), None
    try:
        return len(base64.b64decode(data, validate=True)), None
    except (binascii.Error, ValueError):
        return None, Violation("body-encoding", f"{where} is declared base64 but is not valid base64")


def _check_body(incoming: Any, body: Any) -> list[Violation]:
    if incoming is None:
        return [Violation("body", "the function added a body although the behaviour does not include the body")]
    if not isinstance(body, Mapping):
        return [Violation("body", "request.body must be an object")]
    action = body.get("action", "read-only")
    if action not in BODY_ACTIONS:
        return [Violation("body", f"body.action must be one of {', '.join(BODY_ACTIONS)}, got {action!r}")]
    if action == "read-only":
        return []
    encoding, data = body.get("encoding", "base64"), body.get("data")
    if encoding not in BODY_ENCODINGS:
        return [Violation("body-encoding", f"body.encoding must be one of {', '.join(BODY_ENCODINGS)}, got {encoding!r}")]
    if not isinstance(data, str):
        return [Violation("body", "a replaced body needs body.data as a string")]
    if encoding == "base64" and len(data) > MAX_BASE64_BODY_CHARS:
        return [Violation("body-size", f"a replaced base64 body is limited to {MAX_BASE64_BODY_CHARS} characters")]
    size, bad = _decoded_size(data, encoding, "body.data")
    if bad:
        return [bad]
    if size > MAX_BODY_BYTES:
        # CloudFront documents truncation at this size; a truncated JSON body is never what the
        # function meant, so it is a violation here.
        return [Violation("body-size", f"a replaced body is limited to {MAX_BODY_BYTES} bytes, got {size}")]
    return []


# ------------------------------------------------------------------ the origin
def _check_origin(origin: Any, request_headers: Mapping) -> list[Violation]:
    if not isinstance(origin, Mapping) or len(origin) != 1 or next(iter(origin)) not in ("custom", "s3"):
        return [Violation("origin-shape", "request.origin must hold exactly one of custom or s3")]
    kind, spec = next(iter(origin.items()))
    if not isinstance(spec, Mapping):
        return [Violation("origin-shape", f"origin.{kind} must be an object")]
    out = _check_custom_origin(spec) if kind == "custom" else _check_s3_origin(spec)
    out += _check_path(spec.get("path", ""), f"origin.{kind}.path")
    custom = spec.get("customHeaders", {})
    shape = _check_header_map(custom, f"origin.{kind}.customHeaders")
    out += shape
    if not shape:
        for name in custom:
            if name in CUSTOM_HEADER_DENYLIST or name.startswith(CUSTOM_HEADER_DENIED_PREFIXES) or is_disallowed(name):
                out.append(Violation("custom-header", f"origin.{kind}.customHeaders may not set {name}"))
            if name in request_headers:
                out.append(Violation("custom-header", f"{name} is both a request header and an origin custom header"))
    return out


def _int_in(value: Any, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def _check_custom_origin(spec: Mapping) -> list[Violation]:
    out = []
    name = spec.get("domainName")
    if not isinstance(name, str) or not name or ":" in name or len(name) > 253 or _is_ipv4(name):
        out.append(Violation("origin-domain", f"origin.custom.domainName must be a host name (no port, not IPv4, ≤ 253 characters), got {name!r}"))
    port = spec.get("port")
    if not (port in (80, 443) and not isinstance(port, bool) or _int_in(port, 1024, 65535)):
        out.append(Violation("origin-port", f"origin.custom.port must be 80, 443 or 1024-65535, got {port!r}"))
    if spec.get("protocol") not in ORIGIN_PROTOCOLS:
        out.append(Violation("origin-protocol", f"origin.custom.protocol must be http or https, got {spec.get('protocol')!r}"))
    for field, (low, high) in (("readTimeout", READ_TIMEOUT_S), ("keepaliveTimeout", KEEPALIVE_TIMEOUT_S)):
        if not _int_in(spec.get(field), low, high):
            out.append(Violation("origin-timeout", f"origin.custom.{field} must be {low}-{high} seconds, got {spec.get(field)!r}"))
    protocols = spec.get("sslProtocols")
    if not isinstance(protocols, list) or not protocols or not set(protocols) <= SSL_PROTOCOLS:
        out.append(Violation("origin-ssl", f"origin.custom.sslProtocols must be a non-empty subset of {sorted(SSL_PROTOCOLS)}, got {protocols!r}"))
    return out


def _check_s3_origin(spec: Mapping) -> list[Violation]:
    out = []
    name = spec.get("domainName")
    if not isinstance(name, str) or not name or name != name.lower() or len(name) > 128:
        out.append(Violation("origin-domain", f"origin.s3.domainName must be a lowercase bucket domain of ≤ 128 characters, got {name!r}"))
    auth = spec.get("authMethod")
    if auth not in S3_AUTH_METHODS:
        out.append(Violation("origin-s3-auth", f"origin.s3.authMethod must be one of {', '.join(S3_AUTH_METHODS)}, got {auth!r}"))
    elif auth == "origin-access-identity" and not isinstance(spec.get("region"), str):
        out.append(Violation("origin-s3-auth", "origin.s3.region is required with an origin access identity"))
    return out


def _check_path(path: Any, where: str) -> list[Violation]:
    if not isinstance(path, str) or len(path) > 255 or (path and (not path.startswith("/") or path.endswith("/"))):
        return [Violation("origin-path", f"{where} must be empty or start with '/' without a trailing '/' (≤ 255 characters), got {path!r}")]
    return []


def _is_ipv4(name: str) -> bool:
    try:
        return isinstance(ipaddress.ip_address(name), ipaddress.IPv4Address)
    except ValueError:
        return False


# ------------------------------------------------------------------ a generated response
def _check_generated_response(response: Mapping) -> list[Violation]:
    out = []
    status = response.get("status")
    code = int(status) if isinstance(status, str) and status.isdigit() else status if _int_in(status, 0, 999) else None
    if code is None or not GENERATED_STATUS[0] <= code <= GENERATED_STATUS[1]:
        out.append(Violation("response-status", f"status must be {GENERATED_STATUS[0]}-{GENERATED_STATUS[1]}, got {status!r}"))
    if "statusDescription" in response and not isinstance(response["statusDescription"], str):
        out.append(Violation("response-status", "statusDescription must be a string"))
    headers = response.get("headers", {})
    shape = _check_header_map(headers, "response.headers")
    out += shape
    if not shape:
        out += [Violation("disallowed-header", f"a generated response may not carry {name}") for name in headers if is_disallowed(name)]
    body, encoding = response.get("body", ""), response.get("bodyEncoding", "text")
    size = 0
    if encoding not in BODY_ENCODINGS:
        out.append(Violation("body-encoding", f"bodyEncoding must be text or base64, got {encoding!r}"))
    elif not isinstance(body, str):
        out.append(Violation("body", f"a generated response body must be a string, got {type(body).__name__}"))
    else:
        size, bad = _decoded_size(body, encoding, "body")
        out += [bad] if bad else []
    if not shape:
        size = (size or 0) + sum(len(e.get("key", name)) + len(e["value"]) for name, entries in headers.items() for e in entries)
    if size and size > MAX_GENERATED_RESPONSE_BYTES:
        out.append(Violation("response-size", f"a generated response is limited to {MAX_GENERATED_RESPONSE_BYTES} bytes (headers and body), got {size}"))
    return out
