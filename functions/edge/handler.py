"""Lambda@Edge origin-request function (include-body). Configuration comes from
``config.json`` bundled next to this file at deploy time (Lambda@Edge has no environment).

For every request it:
1. strips client-supplied ``x-appx-*`` headers;
2. leaves public reads (GET/HEAD outside ``/v1/me``) and every OPTIONS (CORS preflight) untouched;
3. picks the zone: from the user id in the bearer token, or at sign-up (``POST /v1/users``)
   from ``CloudFront-Viewer-Country`` through the country map, minting the new user's id
   (the subject) itself — unmapped countries get a 403 or the configured zone;
4. validates the JSON body (size, media type, syntax, no look-alike ciphertexts) and seals the
   configured sensitive fields: one RSA-OAEP-SHA256 wrap of a fresh AES-256-GCM data key per
   request, AAD = field, zone, key id, subject (docs/token-format.md);
5. rewrites the origin to the zone's origin host (custom origin domainName + Host header) and
   adds ``x-appx-zone`` (and ``x-appx-subject`` at sign-up).
Anything wrong is answered here with an RFC 9457 problem (generated response), with the CORS
headers the API would send (``corsOrigins``, the cells' list: exact origin, ``Vary: Origin``),
so a browser on an allowed origin can read why it was refused.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Callable, Mapping
from http import HTTPStatus
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.serialization import load_pem_public_key

from appx_common import ids
from appx_common.cors import CorsPolicy
from appx_common.entry import expose, lazy_handler
from appx_common.envelope import Sealer, b64u_encode, looks_like_token
from appx_common.json_body import parse_json_object
from appx_common.problems import CONTENT_TYPE as PROBLEM_JSON
from appx_common.problems import Problem

CONFIG_FILE = Path(__file__).with_name("config.json")
SUPPORTED_CONFIG_VERSION = 1
DEFAULT_MAX_BODY_BYTES = 64 * 1024
MAX_FIELD_CHARS = 1024
MAX_JSON_DEPTH = 64
ZONE_HEADER, SUBJECT_HEADER, DIGEST_HEADER = "x-appx-zone", "x-appx-subject", "x-appx-body-digest"
PUBLIC_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
SIGNUP = ("POST", "/v1/users")
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


def _too_deep(doc: Any, limit: int) -> bool:
    # Iterative: json.loads accepts nesting deep enough to overflow a recursive walk.
    stack = [(doc, 0)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, (dict, list)):
            if depth >= limit:
                return True
            stack.extend((v, depth + 1) for v in (value.values() if isinstance(value, dict) else value))
    return False


def _contains_lookalike(value: Any) -> bool:
    if isinstance(value, str):
        return looks_like_token(value)
    if isinstance(value, dict):
        return any(looks_like_token(k) or _contains_lookalike(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_contains_lookalike(v) for v in value)
    return False


class EdgeApp:
    def __init__(self, config: Mapping[str, Any]):
        if config.get("version") != SUPPORTED_CONFIG_VERSION:
            raise ValueError(f"edge config version {config.get('version')!r} is not {SUPPORTED_CONFIG_VERSION}")
        self.public_origin = config["publicOriginHost"]
        self.countries = {k.upper(): v for k, v in config["countries"].items()}
        self.unmapped = config.get("unmappedCountries", "deny")
        self.fields = tuple(config["sensitiveFields"])
        self.max_body = int(config.get("maxBodyBytes", DEFAULT_MAX_BODY_BYTES))
        origins = config.get("corsOrigins", [])
        if not isinstance(origins, list):
            raise ValueError(f"edge config corsOrigins must be a list of origins, not {origins!r}")
        # No credentials mode: tokens travel in Authorization, as for the API (appx_common.cors).
        self.cors = CorsPolicy.of(origins, source="edge config corsOrigins")
        self.origin_hosts: dict[str, str] = {}
        self.sealers: dict[str, Sealer] = {}
        for name, zone in config["zones"].items():
            self.origin_hosts[name] = zone["originHost"]
            self.sealers[name] = Sealer(name, zone["keyId"], load_pem_public_key(zone["publicKeyPem"].encode()))
        self.rsa_operations = 0  # observable: one per request that carries sensitive fields

    def __call__(self, event: dict, context: object = None) -> dict:
        request = event["Records"][0]["cf"]["request"]
        try:
            return self.route(request)
        except Problem as problem:
            cors = self.cors.response_headers(_header(request.get("headers", {}), "origin"))
            return generated_response(problem, request.get("uri", "/"), cors)

    def zone_for_country(self, country: str | None) -> str | None:
        zone = self.countries.get((country or "").upper())
        if zone is None and self.unmapped != "deny":
            zone = self.unmapped
        return zone if zone in self.sealers else None

    def route(self, request: dict) -> dict:
        headers: dict = request.setdefault("headers", {})
        for name in [h for h in headers if h.lower().startswith("x-appx-")]:
            del headers[name]
        method, uri = request.get("method", "GET").upper(), request.get("uri", "/")
        personal = uri == "/v1/me" or uri.startswith("/v1/me/")
        if method == "OPTIONS" or (method in PUBLIC_METHODS and not personal):
            # Public reads, and CORS preflights (browsers send them without credentials; they
            # reveal nothing personal): behaviour's origin, untouched.
            return request
        if (method, uri) == SIGNUP:
            zone = self.zone_for_country(_header(headers, "cloudfront-viewer-country"))
            if zone is None:
                raise Problem(403, "country-not-served", "sign-up is not available in your country")
            subject = ids.new_user_id(zone)
            _set_header(headers, SUBJECT_HEADER, "X-Appx-Subject", subject)
        else:
            scheme, _, token = (_header(headers, "authorization") or "").partition(" ")
            parsed = ids.parse_bearer(token.strip()) if scheme.lower() == "bearer" else None
            zone = ids.zone_of(parsed[0]) if parsed else None
            if parsed is None or zone not in self.sealers:
                raise Problem(401, "unauthorized", "a valid bearer token is required", {"WWW-Authenticate": 'Bearer realm="appx"'})
            subject = parsed[0]
        self.seal_body(request, zone, subject, method)
        _set_header(headers, ZONE_HEADER, "X-Appx-Zone", zone)
        host = self.origin_hosts[zone]
        origin = request.setdefault("origin", {})
        custom = origin.get("custom")
        if custom is None:
            origin.clear()
            custom = origin["custom"] = {
                "port": 443, "protocol": "https", "path": "", "sslProtocols": ["TLSv1.2"],
                "readTimeout": 30, "keepaliveTimeout": 5, "customHeaders": {},
            }
        custom["domainName"] = host
        _set_header(headers, "host", "Host", host)
        return request

    def seal_body(self, request: dict, zone: str, subject: str, method: str) -> None:
        body = request.get("body")
        if not body:
            return
        if body.get("inputTruncated"):
            raise Problem(413, "body-too-large", f"request bodies are limited to {self.max_body} bytes")
        data = body.get("data") or ""
        if not data:
            return
        try:
            raw = base64.b64decode(data, validate=True) if body.get("encoding", "base64") == "base64" else data.encode("utf-8")
        except (binascii.Error, ValueError):
            raise Problem(400, "malformed-body", "the body could not be decoded") from None
        doc = parse_json_object(raw, _header(request["headers"], "content-type"), self.max_body)
        if _too_deep(doc, MAX_JSON_DEPTH):
            raise Problem(400, "too-deeply-nested", f"JSON nesting is limited to {MAX_JSON_DEPTH} levels")
        if _contains_lookalike(doc):
            raise Problem(400, "ciphertext-lookalike", "values may not imitate an encrypted field")
        for field in self.fields:
            # Checked here because nobody can look inside the ciphertext later: the API reads
            # these fields back as strings (docs/api/openapi.yaml).
            value = doc.get(field)
            if value is not None and (not isinstance(value, str) or not value.strip() or len(value) > MAX_FIELD_CHARS):
                raise Problem(422, "invalid-field", f"{field} must be a non-empty string of at most {MAX_FIELD_CHARS} characters", field=field)
        self.add_body_digest(request["headers"], doc)
        plain = {f: doc[f] for f in self.fields if f in doc and doc[f] is not None}
        if not plain:
            return
        self.rsa_operations += 1
        doc.update(self.sealers[zone].seal(plain, subject))
        out = json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        # Content-Length stays as it came: it is read-only in origin-request events (CloudFront
        # rejects a result that adds, changes or deletes it) and CloudFront sets the length of a
        # replaced body itself.
        body.update(action="replace", encoding="base64", data=base64.b64encode(out).decode("ascii"), inputTruncated=False)

    @staticmethod
    def add_body_digest(headers: dict, doc: dict) -> None:
        """With an Idempotency-Key, tell the API what the plaintext body was: every attempt is
        sealed with a fresh data key, so the API cannot otherwise tell a retry from another
        request reusing the key (at sign-up that would replay someone else's user and token).
        HMAC keyed by the Idempotency-Key: the fingerprint the API stores reveals nothing about
        the plaintext to anyone who does not hold the key."""
        key = _header(headers, "idempotency-key")
        if not key:
            return
        canonical = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        digest = hmac.new(key.encode("utf-8"), canonical, hashlib.sha256).digest()
        _set_header(headers, DIGEST_HEADER, "X-Appx-Body-Digest", b64u_encode(digest))


def _header(headers: Mapping, name: str) -> str | None:
    values = headers.get(name) or []
    return values[0].get("value") if values else None


def _set_header(headers: dict, name: str, key: str, value: str) -> None:
    headers[name] = [{"key": key, "value": value}]


def generated_response(problem: Problem, instance: str, extra_headers: Mapping[str, str] | None = None) -> dict:
    headers = {
        "content-type": [{"key": "Content-Type", "value": PROBLEM_JSON}],
        "cache-control": [{"key": "Cache-Control", "value": "no-store"}],
    }
    for key, value in {**problem.headers, **(extra_headers or {})}.items():
        headers[key.lower()] = [{"key": key, "value": value}]
    return {
        "status": str(problem.status),
        "statusDescription": HTTPStatus(problem.status).phrase,
        "headers": headers,
        "body": json.dumps(problem.body(instance)),
    }


def load_config(path: str | Path = CONFIG_FILE) -> dict:
    return json.loads(Path(path).read_text())


def make_handler(env: Mapping[str, str] | None = None, **overrides: Any) -> Callable[[dict, object], dict]:
    """``env`` is accepted for symmetry and ignored (Lambda@Edge has no environment).
    Overrides: ``config`` (dict) or ``config_path``."""
    config = overrides.get("config") or load_config(overrides.get("config_path", CONFIG_FILE))
    return expose(EdgeApp(config))


handler = lazy_handler(lambda: make_handler({}))
