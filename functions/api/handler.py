"""Regional API (API Gateway HTTP API, payload format 2.0). Routes: see docs/api/openapi.yaml.

Entry point ``handler``; ``make_handler(env, **overrides)`` builds an independent instance
(several regions in one process). Overrides: ``dynamodb`` (boto3 resource), ``sqs`` (client),
``kms`` (client), ``key_provider``, ``clock`` (epoch seconds), ``breaker``, ``cold_started``
(monotonic time the process started: the Lambda entry point's first request counts it).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import re
import time

# Before the heavy imports below: a cold start's import time counts against /health's budget.
_PROCESS_STARTED = time.monotonic()

from collections.abc import Callable, Mapping  # noqa: E402
from concurrent.futures import ThreadPoolExecutor, wait
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit
from botocore.exceptions import BotoCoreError, ClientError

from appx_common import aws, ids
from appx_common.config import RegionConfig
from appx_common.cors import CorsPolicy, allowed_methods
from appx_common.entry import expose, lazy_handler
from appx_common.envelope import EnvelopeError, open_fields, open_for_subject, parse_token, seal_for_subject, subject_token_version
from appx_common.export import Exporter, page_bytes_from_env
from appx_common.idempotency import Claim, Idempotency
from appx_common.keys import CachingKeyProvider, KeyUnavailable, key_provider_from_spec
from appx_common.subject_keys import SubjectKey, SubjectKeys, reply_field, seal_queued
from appx_common.logs import AppLogger
from appx_common.json_body import JSON, parse_json_object
from appx_common.problems import CONTENT_TYPE as PROBLEM_JSON
from appx_common.problems import Problem, throttled, unavailable
from appx_common.resilience import CircuitBreaker, TTLCache
from appx_common.sessions import REVOKED, REVOKED_ALL, SessionPolicy, Sessions, is_live, is_session, unauthorized
from appx_common.store import Conflict, Store, SubjectErased, is_throttling, is_transient, iso
from appx_common.subjects import SubjectKeyUnavailable, subject_refs_from_spec

RESTRICTED_FIELDS = ("email", "name", "phone", "birthDate")
REQUIRED_AT_SIGNUP = ("email", "name")
ZONE_HEADER = "x-appx-zone"
SUBJECT_HEADER = "x-appx-subject"
# HMAC of the plaintext body keyed by the Idempotency-Key, set by the edge (docs/token-format.md):
# the ciphertexts differ on every attempt, so it is what tells a retry from a reused key.
DIGEST_HEADER = "x-appx-body-digest"
ORIGIN_HEADER = "x-appx-origin-verify"
UNAVAILABLE_PAGE, UNAVAILABLE_RETRY_AFTER = "/errors/unavailable", 30
MAX_BODY_BYTES = 64 * 1024
# Route 53 (HTTPS) counts a check as failed unless the response starts within 2 s of the TCP
# connection. What the function may spend: that budget minus a margin for TLS, API Gateway and
# the runtime; on a cold start the time already spent importing and building the app comes off
# too. The checks themselves never take longer than HEALTH_DEADLINE_SECONDS.
ROUTE53_RESPONSE_BUDGET_SECONDS = 2.0
HEALTH_RESPONSE_MARGIN_SECONDS = 0.4
HEALTH_DEADLINE_SECONDS = 1.0
HEALTH_MIN_DEADLINE_SECONDS = 0.1
MAX_POST_CHARS = 1000
FEED_DEFAULT, FEED_MAX = 20, 100
# Bounded staleness after an erasure: a post stays readable from warm caches for at most
# POST_CACHE_SECONDS, since responses advertise only the in-function copy's remaining lifetime.
POST_CACHE_SECONDS, FEED_CACHE_SECONDS = 10, 5
_LIMIT = re.compile(r"^[0-9]{1,3}$")
_LOCALE = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8}){0,3}$")


class Principal:
    def __init__(self, user_id: str, zone: str, profile: dict, session: dict, items: list[dict]):
        self.user_id, self.zone, self.profile, self.session, self.items = user_id, zone, profile, session, items


class ApiApp:
    def __init__(self, env: Mapping[str, str], **overrides: Any):
        self.cfg = RegionConfig.from_env(env, "appx-api")
        self.clock: Callable[[], float] = overrides.get("clock", time.time)
        ddb = overrides.get("dynamodb") or aws.resource("dynamodb", self.cfg)
        self._sqs = overrides.get("sqs")
        self._kms = overrides.get("kms")
        self.refs = subject_refs_from_spec(self.cfg.key_provider, self.cfg.zones, self._kms_client)
        self.store = Store(self.cfg, ddb, self.refs, self.clock, overrides.get("zone_dynamodb"))
        self.health_store = Store(self.cfg, overrides.get("health_dynamodb") or (ddb if "dynamodb" in overrides else aws.resource("dynamodb", self.cfg, aws.FAST)), self.refs, self.clock)
        inner = overrides.get("key_provider") or key_provider_from_spec(
            self.cfg.key_provider, self.cfg.zones, self._kms_client,
            lambda: overrides.get("kms") or aws.client("kms", self.cfg, aws.FAST))
        self.keys = inner if isinstance(inner, CachingKeyProvider) else CachingKeyProvider(inner, clock=self.clock)
        self.subject_keys = SubjectKeys(self.store.key_store, self.store.refs.ref, self.keys, clock=self.clock)
        self.breaker: CircuitBreaker = overrides.get("breaker") or CircuitBreaker(clock=self.clock)
        self.idem = Idempotency(self.store.idempotency, self.clock)
        self.sessions = Sessions(self.store, SessionPolicy.from_env(env), self.clock)
        self.exporter = Exporter(self.store, page_bytes_from_env(env), self.clock)
        self.cors = CorsPolicy.from_env(env)
        self.post_cache = TTLCache(1024, POST_CACHE_SECONDS, self.clock)
        self.feed_cache = TTLCache(16, FEED_CACHE_SECONDS, self.clock)
        self.health_cache = TTLCache(2, 2.0, self.clock)
        self.log = AppLogger(self.cfg.service, self.cfg.region)
        self.metrics = EphemeralMetrics(namespace="AppX", service=self.cfg.service)
        self._dropped = 0
        self.resolver = self._routes()
        # Set by the Lambda entry point: the first request waited for the import and this build.
        self._request_started: float | None = overrides.get("cold_started")

    # ---- plumbing ------------------------------------------------------------------------
    def _kms_client(self):
        if self._kms is None:
            self._kms = aws.client("kms", self.cfg)
        return self._kms

    @property
    def sqs(self):
        if self._sqs is None:
            self._sqs = aws.client("sqs", self.cfg, aws.QUEUE)
        return self._sqs

    def __call__(self, event: dict, context: object = None) -> dict:
        if self._request_started is None:
            self._request_started = time.monotonic()
        try:
            return self._handle(event, context)
        finally:
            self._request_started = None

    def health_deadline(self) -> float:
        """Seconds the health checks may take in this request: what is left of Route 53's budget."""
        spent = time.monotonic() - (self._request_started or time.monotonic())
        left = ROUTE53_RESPONSE_BUDGET_SECONDS - HEALTH_RESPONSE_MARGIN_SECONDS - spent
        return max(HEALTH_MIN_DEADLINE_SECONDS, min(HEALTH_DEADLINE_SECONDS, left))

    def _handle(self, event: dict, context: object) -> dict:
        before, before_subject = self.keys.unwrap_calls, self.subject_keys.unwrap_calls + self.subject_keys.generate_calls
        head = _method(event) == "HEAD"
        if head:  # HEAD is GET without the body (CloudFront sends HEADs of cached routes too)
            event = {**event, "requestContext": {**event["requestContext"], "http": {**event["requestContext"]["http"], "method": "GET"}}}
        response = self.resolver.resolve(event, context)
        if _method(event) != "OPTIONS":  # a preflight carries its own grant (or none)
            response["headers"] = {**self.cors.response_headers(_header(event, "origin")), **(response.get("headers") or {})}
        if head:
            response = {**response, "body": "", "isBase64Encoded": False}
        unwraps = self.keys.unwrap_calls - before
        subject_calls = self.subject_keys.unwrap_calls + self.subject_keys.generate_calls - before_subject
        if unwraps:  # asymmetric (RSA) KMS operations
            self.metrics.add_metric(name="KeyUnwrapCalls", unit=MetricUnit.Count, value=unwraps)
        if subject_calls:  # symmetric KMS operations on subject keys
            self.metrics.add_metric(name="SubjectKeyCalls", unit=MetricUnit.Count, value=subject_calls)
        if unwraps or subject_calls or self._dropped:
            self.metrics.flush_metrics()
            self._dropped = 0
        return response

    def dropped(self, what: str) -> Problem:
        """Count a write or replay for an erased subject (never applied) and answer 410."""
        self._dropped += 1
        self.metrics.add_metric(name="ErasedSubjectWritesDropped", unit=MetricUnit.Count, value=1)
        self.log.warning("write for an erased subject dropped", op=what)
        return Problem(410, "subject-erased", "this account has been erased")

    def subject_ref(self, user_id: str) -> str:
        try:
            return self.refs.ref(user_id)
        except SubjectKeyUnavailable:
            raise unavailable("the residency zone's key cannot be reached") from None

    @property
    def event(self):
        return self.resolver.current_event

    def header(self, name: str) -> str | None:
        return (self.event.headers or {}).get(name)

    def read(self, fn: Callable[[], Any]) -> Any:
        try:
            return fn()
        except (ClientError, BotoCoreError) as exc:
            if is_throttling(exc):
                raise throttled() from None
            self.log.warning("store read failed", error=exc.__class__.__name__, code=aws.error_code(exc))
            raise unavailable("the data store cannot be reached in this region") from None

    def raw_body(self) -> bytes:
        # Powertools' decoded_body would raise UnicodeDecodeError (a 500) on non-UTF-8 bytes.
        body = self.event.body or ""
        if not self.event.is_base64_encoded:
            return body.encode("utf-8")
        try:
            return base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            raise Problem(400, "malformed-body", "the body could not be decoded") from None

    def json_body(self) -> dict:
        return parse_json_object(self.raw_body(), self.header("content-type"), MAX_BODY_BYTES)

    def subject_key(self, zone: str, subject: str, create: bool = False) -> SubjectKey | None:
        """The subject's key (created at sign-up), or None once it was shredded."""
        try:
            if create:
                return self.read(lambda: self.subject_keys.create(zone, subject, self.clock()))
            return self.read(lambda: self.subject_keys.get(zone, subject))
        except KeyUnavailable:
            raise unavailable("the residency zone's key cannot be reached") from None
        except EnvelopeError:
            self.log.error("subject key failed to unwrap", subject=ids.subject_ref(subject))
            raise Problem(500, "stored-data-integrity", "stored data failed an integrity check") from None

    def owner_key(self, zone: str, subject: str) -> SubjectKey:
        key = self.subject_key(zone, subject)
        if key is None:  # erased a moment ago; the profile's deletion is on its way
            raise Problem(401, "unauthorized", "this account has been erased", {"WWW-Authenticate": 'Bearer realm="appx"'})
        return key

    def reseal(self, tokens: Mapping[str, str], key: SubjectKey) -> dict[str, str]:
        """The write path's only asymmetric step: open the edge's fields (one RSA unwrap for the
        request, as every field shares its wrapped data key) and seal them under the subject key."""
        try:
            plain = open_fields(tokens, sorted(tokens), key.subject, key.zone, self.keys.unwrap)
        except KeyUnavailable:
            raise unavailable("the residency zone's key cannot be reached") from None
        except EnvelopeError:
            raise Problem(422, "field-not-authentic", "an encrypted field failed authentication") from None
        return {f: seal_for_subject(key.material, f, key.zone, key.subject, key.version, v) for f, v in plain.items()}

    def check_token(self, field: str, value: object, zone: str) -> str:
        try:
            token = parse_token(value)
        except EnvelopeError:
            raise Problem(422, "field-not-encrypted", f"{field} must arrive encrypted by the edge", field=field) from None
        if token.zone != zone:
            raise Problem(422, "field-wrong-zone", f"{field} was encrypted for another residency zone", field=field)
        if not self.keys.accepts(zone, token.key_id):
            raise Problem(422, "field-unknown-key", f"{field} was encrypted with an unknown key", field=field)
        return value  # type: ignore[return-value]

    @staticmethod
    def check_locale(value: object) -> str:
        if not isinstance(value, str) or len(value) > 35 or not _LOCALE.match(value):
            raise Problem(422, "invalid-field", "locale must be a BCP 47 language tag", field="locale")
        return value

    def write(self, op: dict) -> str:
        """Apply a write, or queue it when the breaker is open or the store fails.
        Returns "applied" or "queued"."""
        if self.breaker.allow():
            # Every outcome must reach the breaker: a half-open trial that reported nothing
            # would keep the breaker from ever allowing a direct write again.
            try:
                self.store.apply(op)
            except SubjectErased:
                self.breaker.success()
                raise self.dropped(op["op"]) from None
            except Conflict:
                self.breaker.success()
                raise Problem(409, "conflict", "the resource already exists") from None
            except (ClientError, BotoCoreError) as exc:
                if not is_transient(exc):
                    self.breaker.success()  # the store answered: a request error, not an outage
                    raise
                self.breaker.failure()
                self.log.warning("write failed, queueing", op=op["op"], requestId=op["requestId"], code=aws.error_code(exc), breaker=self.breaker.state)
            except BaseException:
                self.breaker.failure()
                raise
            else:
                self.breaker.success()
                return "applied"
        self.enqueue(op)
        return "queued"

    def enqueue(self, op: dict) -> None:
        if not self.cfg.queue_url:
            raise unavailable("writes cannot be accepted right now")
        message = {**op, "queued": True}
        if op["op"] != "eraseUser":  # the subject's writes wait in SQS (and the DLQ) sealed
            key = self.subject_key(op["zone"], op["userId"])
            if key is None:
                raise Problem(401, "unauthorized", "this account has been erased", {"WWW-Authenticate": 'Bearer realm="appx"'})
            message = seal_queued(key, message)
        try:
            self.sqs.send_message(QueueUrl=self.cfg.queue_url, MessageBody=json.dumps(message))
        except (ClientError, BotoCoreError) as exc:
            self.log.error("queue fallback failed", op=op["op"], requestId=op["requestId"], error=exc.__class__.__name__)
            raise unavailable("writes cannot be accepted right now") from None
        self.log.info("write queued", op=op["op"], requestId=op["requestId"])

    def idempotent(self, route: str, scope: str, fingerprint: str, work: Callable[[Claim | None], tuple[int, dict, dict]], zone: str, subject: str,
                   credential_reply: bool = False) -> Response:
        """``subject`` is the user the request writes for: its records are found by it at erasure.
        ``credential_reply``: the reply holds a credential; ``work`` stores it in the zone."""
        key = self.header("idempotency-key")
        claim = None
        if key is not None:
            ref = self.subject_ref(subject)
            try:
                claim = self.idem.claim(route, scope, key, fingerprint, ref)
                if claim.replay is not None and claim.subject and self.store.tombstoned(zone, claim.subject):
                    self.idem.release(claim)  # the erasure job would have deleted it
                    raise self.dropped("replay")
            except (ClientError, BotoCoreError) as exc:
                if is_throttling(exc):
                    raise throttled() from None
                self.log.warning("idempotency store unavailable", code=aws.error_code(exc))
            if claim and claim.replay is not None:
                status, body, headers = self.replayed(claim, zone, subject, credential_reply)
                return Response(status, JSON, json.dumps(body), {**headers, "Idempotent-Replayed": "true", "Cache-Control": "no-store"})
        try:
            status, body, headers = work(claim)
        except BaseException:
            if claim:
                try:
                    self.idem.release(claim)
                except (ClientError, BotoCoreError):
                    pass
            raise
        if claim:
            try:
                self.idem.complete(claim, self.stored_reply(claim, status, body, headers, zone, subject, credential_reply))
            except (ClientError, BotoCoreError) as exc:
                self.log.warning("idempotency record not completed", code=aws.error_code(exc))
        return Response(status, JSON, json.dumps(body), {**headers, "Cache-Control": "no-store"})

    def stored_reply(self, claim: Claim, status: int, body: dict, headers: dict, zone: str, subject: str, credential_reply: bool) -> dict:
        """What the EU-wide idempotency record keeps: never a readable body. A reply is sealed
        under the subject's key; a sign-up's reply (it holds the new bearer token) stays in the
        zone's restricted table, written with the account, and the record keeps only the zone."""
        if credential_reply:
            return {"replyZone": zone}
        key = self.owner_key(zone, subject)
        sealed = seal_for_subject(key.material, reply_field(claim.record_id), key.zone, key.subject, key.version, body)
        return {"status": status, "headers": headers, "sealedBody": sealed}

    def replayed(self, claim: Claim, zone: str, subject: str, credential_reply: bool) -> tuple[int, dict, dict]:
        stored = claim.replay or {}
        try:
            if not credential_reply:
                key = self.owner_key(zone, subject)
                body = open_for_subject(stored["sealedBody"], key.material, reply_field(claim.record_id), key.zone, key.subject, key.version)
                return stored["status"], body, stored.get("headers", {})
            zone = stored["replyZone"]
            if zone not in self.cfg.zones:
                raise Problem(421, "zone-not-served", f"zone {zone} is not served by this origin")
            item = self.read(lambda: self.store.get_reply(zone, claim.record_id))
            key = self.subject_key(zone, item["userId"]) if item else None
            if key is None:  # the queued sign-up is not applied yet (or the account was erased)
                raise Problem(409, "request-in-progress", "the request with this Idempotency-Key has not completed", {"Retry-After": "1"})
            body = open_for_subject(item["reply"], key.material, reply_field(claim.record_id), zone, key.subject, key.version)
            return 201, body, {"Location": "/v1/me"}
        except (KeyError, TypeError, EnvelopeError):
            raise Problem(409, "idempotency-record-unreadable", "stored response cannot be replayed") from None

    def authenticate(self) -> Principal:
        """The caller's live session, or a 401 that says why not (appx_common.sessions)."""
        scheme, _, token = (self.header("authorization") or "").partition(" ")
        bearer = ids.parse_bearer(token.strip()) if scheme.lower() == "bearer" else None
        if not bearer:
            raise unauthorized()
        zone = ids.zone_of(bearer.user_id)
        edge_zone = self.header(ZONE_HEADER)
        if zone not in self.cfg.zones or (edge_zone and edge_zone != zone):
            raise Problem(421, "zone-not-served", "this user's residency zone is not served by this origin")
        items = self.read(lambda: self.store.user_items(zone, bearer.user_id))
        profile = next((i for i in items if i["sk"] == "PROFILE"), None)
        session = self.sessions.check(bearer, items)
        if profile is None:
            raise unauthorized()
        try:
            self.sessions.touch(zone, bearer.user_id, session)
        except (ClientError, BotoCoreError) as exc:  # the request still succeeds; idle time is recorded later
            self.log.warning("session use not recorded", code=aws.error_code(exc))
        return Principal(bearer.user_id, zone, profile, session, items)

    def decrypt_profile(self, p: Principal) -> dict:
        """Symmetric only: the subject key (cached, or one KMS Decrypt when cold)."""
        fields = p.profile.get("fields", {})
        key = self.owner_key(p.zone, p.user_id)
        try:
            return {f: open_for_subject(fields[f], key.material, f, p.zone, p.user_id, subject_token_version(fields[f]))
                    for f in RESTRICTED_FIELDS if f in fields}
        except EnvelopeError:
            self.log.error("stored field failed authentication", subject=ids.subject_ref(p.user_id))
            raise Problem(500, "stored-data-integrity", "stored data failed an integrity check") from None

    def me_document(self, p: Principal) -> dict:
        doc = {"userId": p.user_id, "zone": p.zone, "createdAt": p.profile.get("createdAt"), "profile": self.decrypt_profile(p)}
        if "locale" in p.profile:
            doc["locale"] = p.profile["locale"]
        return doc

    # ---- routes --------------------------------------------------------------------------
    def _routes(self) -> APIGatewayHttpResolver:
        r = APIGatewayHttpResolver()

        @r.exception_handler(Problem)
        def _problem(exc: Problem):
            return Response(exc.status, PROBLEM_JSON, json.dumps(exc.body(r.current_event.path)), {**exc.headers, "Cache-Control": "no-store"})

        @r.not_found
        def _not_found(_exc: NotFoundError):
            path, method = r.current_event.path, r.current_event.http_method.upper()
            allowed = allowed_methods(r, path)
            if not allowed:
                return _problem(Problem(404, "not-found", "no such resource"))
            if method == "OPTIONS":
                cors = self.cors.preflight_headers(self.header("origin"), self.header("access-control-request-method"), allowed)
                return Response(204, None, "", {"Allow": ", ".join(allowed), "Cache-Control": "no-store", **cors})
            return _problem(Problem(405, "method-not-allowed", f"{method} is not allowed here", {"Allow": ", ".join(allowed)}, allowed=allowed))

        @r.exception_handler(Exception)
        def _error(exc: Exception):
            self.log.error("unhandled error", error=exc.__class__.__name__, code=aws.error_code(exc))
            return _problem(Problem(500, "internal", "internal error"))

        def through_edge_only(app, next_middleware):
            # Route 53 health checks cannot send custom headers; /health reveals nothing personal.
            secret = self.cfg.origin_secret
            if secret and app.current_event.path != "/health":
                supplied = (app.current_event.headers or {}).get(ORIGIN_HEADER) or ""
                if not hmac_eq(supplied, secret):
                    raise Problem(403, "not-through-edge", "requests must come through the application's edge")
            return next_middleware(app)

        r.use(middlewares=[through_edge_only])

        @r.get("/health")
        def health():
            return self.health()

        @r.get(UNAVAILABLE_PAGE)
        def unavailable_page():
            # CloudFront serves this body with status 503 when a zone origin cannot be reached
            # (its custom error response for 502/504), so even a dead single-region zone answers
            # a problem document with Retry-After instead of a bare gateway error.
            problem = unavailable("the user's residency zone cannot be reached right now; retry later", UNAVAILABLE_RETRY_AFTER)
            return Response(200, PROBLEM_JSON, json.dumps(problem.body()), {**problem.headers, "Cache-Control": "public, max-age=60"})

        @r.post("/v1/users")
        def signup():
            body = self.json_body()
            zone, subject = self.header(ZONE_HEADER), self.header(SUBJECT_HEADER)
            if not zone or not subject:
                raise Problem(400, "missing-edge-headers", "sign-up must come through the edge")
            if zone not in self.cfg.zones:
                raise Problem(421, "zone-not-served", f"zone {zone} is not served by this origin")
            if ids.zone_of(subject) != zone:
                raise Problem(400, "bad-subject", "the edge subject does not belong to the zone")
            unknown = sorted(set(body) - set(RESTRICTED_FIELDS) - {"locale"})
            if unknown:
                raise Problem(422, "unknown-field", f"unknown field(s): {', '.join(unknown)}", fields=unknown)
            missing = [f for f in REQUIRED_AT_SIGNUP if body.get(f) is None]
            if missing:
                raise Problem(422, "missing-field", f"required field(s): {', '.join(missing)}", fields=missing)
            fields = {f: self.check_token(f, body[f], zone) for f in RESTRICTED_FIELDS if body.get(f) is not None}
            locale = self.check_locale(body["locale"]) if body.get("locale") is not None else None
            fingerprint = _fingerprint(zone, sorted(fields), locale, self.header(DIGEST_HEADER) or "")

            def work(claim: Claim | None):
                key = self.subject_key(zone, subject, create=True)
                sealed = self.reseal(fields, key)
                now = self.clock()
                token, session = self.sessions.new(subject, now)
                request_id = ids.new_request_id()
                profile = {"userId": subject, "zone": zone, "authorId": ids.new_author_id(), "fields": sealed, "createdAt": iso(now), "updatedAtUs": 0}
                if locale:
                    profile["locale"] = locale
                op = {"op": "createUser", "requestId": request_id, "zone": zone, "userId": subject, "session": session, "profile": profile}
                out = {"userId": subject, "zone": zone, "token": token, "sessionId": session["sessionId"], "createdAt": profile["createdAt"],
                       "expiresAt": iso(session["expiresAtS"])}
                if claim:  # the reply holds a credential: kept in the zone, sealed, with the account
                    op["reply"] = {"recordId": claim.record_id, "expiration": claim.expiration,
                                   "sealed": seal_for_subject(key.material, reply_field(claim.record_id), zone, subject, key.version, out)}
                state = self.write(op)
                self.log.info("user signed up", subject=ids.subject_ref(subject), zone=zone, requestId=request_id, state=state)
                if state == "queued":
                    return 202, {**out, "requestId": request_id, "status": "queued"}, {}
                return 201, out, {"Location": "/v1/me"}

            return self.idempotent("POST /v1/users", "signup", fingerprint, work, zone, subject, credential_reply=True)

        @r.get("/v1/me")
        def get_me():
            p = self.authenticate()
            doc = self.me_document(p)
            self.log.info("profile read", subject=ids.subject_ref(p.user_id))
            return Response(200, JSON, json.dumps(doc), {"Cache-Control": "no-store"})

        @r.patch("/v1/me")
        def patch_me():
            p = self.authenticate()
            body = self.json_body()
            unknown = sorted(set(body) - set(RESTRICTED_FIELDS) - {"locale"})
            if unknown:
                raise Problem(422, "unknown-field", f"unknown field(s): {', '.join(unknown)}", fields=unknown)
            if not body:
                raise Problem(422, "empty-update", "nothing to change")
            tokens, removes = {}, []
            for f in RESTRICTED_FIELDS:
                if f not in body:
                    continue
                if body[f] is None:
                    if f in REQUIRED_AT_SIGNUP:
                        raise Problem(422, "required-field", f"{f} cannot be removed", field=f)
                    removes.append(f)
                else:
                    tokens[f] = self.check_token(f, body[f], p.zone)
            op = {"op": "updateProfile", "zone": p.zone, "userId": p.user_id, "set": {}, "remove": removes}
            if "locale" in body:
                op["locale"] = None if body["locale"] is None else self.check_locale(body["locale"])
            fingerprint = _fingerprint(p.zone, sorted(tokens), removes, op.get("locale", "-"), self.header(DIGEST_HEADER) or "")

            def work(_claim):
                if tokens:
                    op["set"] = self.reseal(tokens, self.owner_key(p.zone, p.user_id))
                now = self.clock()
                op.update(requestId=ids.new_request_id(), atUs=int(now * 1_000_000))
                state = self.write(op)
                out = {"userId": p.user_id, "updated": sorted([*tokens, *removes, *(["locale"] if "locale" in op else [])]), "updatedAt": iso(now)}
                self.log.info("profile rectified", subject=ids.subject_ref(p.user_id), fields=out["updated"], state=state)
                if state == "queued":
                    return 202, {**out, "requestId": op["requestId"], "status": "queued"}, {}
                return 200, out, {}

            return self.idempotent("PATCH /v1/me", p.user_id, fingerprint, work, p.zone, p.user_id)

        @r.delete("/v1/me")
        def delete_me():
            p = self.authenticate()
            # Crypto-shredding first, outside the breaker: from here on no copy of the subject's
            # data (replicas, backups, streams, queues) can be opened, even if the rest is queued.
            ref = self.subject_ref(p.user_id)
            self.read(lambda: self.store.shred_subject(p.zone, ref))
            # Then constant work: one transaction (tombstone, erasure job, profile); the job does the rest.
            op = {"op": "eraseUser", "requestId": ids.new_request_id(), "zone": p.zone, "userId": p.user_id, "authorId": p.profile["authorId"]}
            if p.profile.get("replyRef"):
                op["replyRef"] = p.profile["replyRef"]
            state = self.write(op)
            self.post_cache.clear()
            self.feed_cache.clear()
            self.log.info("user erased", subject=ids.subject_ref(p.user_id), requestId=op["requestId"], state=state)
            if state == "queued":
                return Response(202, JSON, json.dumps({"requestId": op["requestId"], "status": "queued"}), {"Cache-Control": "no-store"})
            return Response(204, None, "", {"Cache-Control": "no-store"})

        @r.get("/v1/me/export")
        def export_me():
            p = self.authenticate()
            cursor = (self.event.query_string_parameters or {}).get("cursor")
            first_page = lambda: {  # noqa: E731 - built only for page 1
                "exportedAt": iso(self.clock()),
                "region": self.cfg.region,
                "user": {**self.me_document(p), "authorId": p.profile["authorId"]},
                "sessions": self.sessions.listing(p.items, p.session["sessionId"]),
                "storage": {"restricted": f"{self.cfg.restricted_table(p.zone)} (zone {p.zone})", "posts": self.cfg.posts_table, "feed": self.cfg.feed_table},
            }
            doc, headers = self.read(lambda: self.exporter.page(p.user_id, p.profile["authorId"], p.session["exportKey"], cursor, first_page))
            self.log.info("data exported", subject=ids.subject_ref(p.user_id), page=doc["page"], posts=len(doc["posts"]), complete=doc.get("complete", False))
            name = "appx-export.json" if doc["page"] == 1 else f"appx-export-{doc['page']}.json"
            return Response(200, JSON, json.dumps(doc, default=str), {**headers, "Cache-Control": "no-store", "Content-Disposition": f'attachment; filename="{name}"'})

        self._session_routes(r)

        @r.post("/v1/posts")
        def create_post():
            p = self.authenticate()
            body = self.json_body()
            unknown = sorted(set(body) - {"text"})
            if unknown:
                raise Problem(422, "unknown-field", f"unknown field(s): {', '.join(unknown)}", fields=unknown)
            text = body.get("text")
            if not isinstance(text, str) or not text.strip() or len(text) > MAX_POST_CHARS:
                raise Problem(422, "invalid-field", f"text must be 1-{MAX_POST_CHARS} characters", field="text")

            def work(_claim):
                now = self.clock()
                post = {"postId": ids.new_post_id(), "authorId": p.profile["authorId"], "text": text, "createdAt": iso(now)}
                op = {"op": "createPost", "requestId": ids.new_request_id(), "zone": p.zone, "userId": p.user_id, "post": post}
                state = self.write(op)
                out = {"postId": post["postId"], "text": text, "createdAt": post["createdAt"]}
                self.log.info("post created", postId=post["postId"], state=state)
                if state == "queued":
                    return 202, {**out, "requestId": op["requestId"], "status": "queued"}, {}
                return 201, out, {"Location": f"/v1/posts/{post['postId']}"}

            return self.idempotent("POST /v1/posts", p.user_id, _fingerprint(text), work, p.zone, p.user_id)

        @r.get("/v1/posts/<post_id>")
        def get_post(post_id: str):
            if not ids.POST_ID.match(post_id):
                raise Problem(404, "not-found", "no such post")
            doc = self.post_cache.get(post_id)
            if doc is None:
                item = self.read(lambda: self.store.get_post(post_id))
                if item is None:
                    raise Problem(404, "not-found", "no such post")
                doc = {"postId": item["postId"], "text": item["text"], "createdAt": item["createdAt"]}
                self.post_cache.put(post_id, doc)
            return self.cacheable(doc, int(self.post_cache.expires_in(post_id)))

        @r.get("/v1/feed")
        def feed():
            raw = (self.event.query_string_parameters or {}).get("limit", str(FEED_DEFAULT))
            # ASCII digits only: str.isdigit() accepts "²", which int() then rejects (was a 500).
            if not _LIMIT.match(raw) or not 1 <= int(raw) <= FEED_MAX:
                raise Problem(400, "invalid-parameter", f"limit must be 1-{FEED_MAX}", parameter="limit")
            limit = int(raw)
            doc = self.feed_cache.get(limit)
            if doc is None:
                items = self.read(lambda: self.store.feed_page(limit))
                doc = {"items": [{"postId": i["postId"], "text": i["text"], "createdAt": i["createdAt"]} for i in items]}
                self.feed_cache.put(limit, doc)
            return self.cacheable(doc, int(self.feed_cache.expires_in(limit)))

        return r

    def _session_routes(self, r: APIGatewayHttpResolver) -> None:
        """Sessions of the caller (docs/token-format.md §4): list, open, rotate, revoke."""

        def issue(change: Callable[[Principal], tuple[str, dict]], event: str) -> Response:
            p = self.authenticate()
            token, item = change(p)
            self.log.info(event, subject=ids.subject_ref(p.user_id))
            doc = {"token": token, **self.sessions.describe(item, item["sessionId"])}
            return Response(201, JSON, json.dumps(doc), {"Cache-Control": "no-store", "Location": f"/v1/me/sessions/{item['sessionId']}"})

        @r.get("/v1/me/sessions")
        def list_sessions():
            p = self.authenticate()
            doc = {"sessions": self.sessions.listing(p.items, p.session["sessionId"])}
            return Response(200, JSON, json.dumps(doc), {"Cache-Control": "no-store"})

        @r.post("/v1/me/sessions")
        def open_session():
            return issue(lambda p: self.sessions.open(p.zone, p.user_id, p.session, p.items), "session opened")

        @r.post("/v1/me/token:rotate")
        def rotate_token():
            return issue(lambda p: self.sessions.rotate(p.zone, p.user_id, p.session, p.items), "session rotated")

        @r.delete("/v1/me/sessions/<session_id>")
        def revoke_session(session_id: str):
            p = self.authenticate()
            target = next((i for i in p.items if is_session(i) and i["sessionId"] == session_id), None)
            if target is None:
                raise Problem(404, "not-found", "no such session")
            if is_live(target):  # revoking a revoked session changes nothing
                self.sessions.revoke(p.zone, p.user_id, [session_id], REVOKED, p.items)
                self.log.info("session revoked", subject=ids.subject_ref(p.user_id), current=session_id == p.session["sessionId"])
            return Response(204, None, "", {"Cache-Control": "no-store"})

        @r.delete("/v1/me/sessions")
        def revoke_all_sessions():
            p = self.authenticate()
            live = [i["sessionId"] for i in p.items if is_session(i) and is_live(i)]
            self.sessions.revoke(p.zone, p.user_id, live, REVOKED_ALL, p.items)
            self.log.info("all sessions revoked", subject=ids.subject_ref(p.user_id), sessions=len(live))
            return Response(204, None, "", {"Cache-Control": "no-store"})

    def cacheable(self, doc: dict, max_age: int) -> Response:
        body = json.dumps(doc, separators=(",", ":"), sort_keys=True)
        etag = '"' + hashlib.sha256(body.encode()).hexdigest()[:32] + '"'
        headers = {"Cache-Control": f"public, max-age={max_age}", "ETag": etag}
        inm = self.header("if-none-match")
        if inm and (inm.strip() == "*" or etag in [t.strip().removeprefix("W/") for t in inm.split(",")]):
            return Response(304, None, "", headers)
        return Response(200, JSON, body, headers)

    def health(self) -> Response:
        cached = self.health_cache.get("h")
        if cached is None:
            checks: dict[str, Callable[[], Any]] = {
                "posts": lambda: self.health_store.posts.get_item(Key={"pk": "HEALTH", "sk": "HEALTH"}),
                "feed": lambda: self.health_store.feed.get_item(Key={"pk": "HEALTH", "sk": "HEALTH"}),
                "idempotency": lambda: self.health_store.idempotency.get_item(Key={"id": "HEALTH"}),
            }
            for zone in self.cfg.zones:
                checks[f"restricted:{zone}"] = lambda z=zone: self.health_store.restricted(z).get_item(Key={"pk": "HEALTH", "sk": "HEALTH"})
                checks[f"key:{zone}"] = lambda z=zone: self.keys.check(z)

            def run(fn):
                try:
                    fn()
                    return "ok"
                except Exception as exc:  # noqa: BLE001 - any failure is "unhealthy"
                    return f"fail: {exc.__class__.__name__}"

            # One deadline for the whole check: a dependency that hangs (e.g. a KMS call inside
            # its retries) fails the check instead of making the health check itself slow.
            pool = ThreadPoolExecutor(max_workers=min(8, len(checks)))
            futures = {name: pool.submit(run, fn) for name, fn in checks.items()}
            wait(futures.values(), timeout=self.health_deadline())
            pool.shutdown(wait=False, cancel_futures=True)
            results = {name: f.result() if f.done() else "fail: timeout" for name, f in futures.items()}
            healthy = all(v == "ok" for v in results.values())
            cached = {"status": "ok" if healthy else "unavailable", "region": self.cfg.region, "checks": results, "breaker": self.breaker.state}
            self.health_cache.put("h", cached)
        if cached["status"] != "ok":
            return Response(503, JSON, json.dumps(cached), {"Retry-After": "5", "Cache-Control": "no-store"})
        return Response(200, JSON, json.dumps(cached), {"Cache-Control": "no-store"})


def _header(event: dict, name: str) -> str | None:
    return (event.get("headers") or {}).get(name)


def hmac_eq(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def _method(event: dict) -> str | None:
    return ((event.get("requestContext") or {}).get("http") or {}).get("method")


def _fingerprint(*parts: object) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def make_handler(env: Mapping[str, str], **overrides: Any) -> Callable[[dict, object], dict]:
    return expose(ApiApp(env, **overrides))


handler = lazy_handler(lambda: make_handler(os.environ, cold_started=_PROCESS_STARTED))
