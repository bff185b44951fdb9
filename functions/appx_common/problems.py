"""RFC 9457 problem details."""

from __future__ import annotations

from http import HTTPStatus

PROBLEM_TYPE_BASE = "https://appx.example.eu/problems/"
CONTENT_TYPE = "application/problem+json"


class Problem(Exception):
    def __init__(self, status: int, kind: str, detail: str = "", headers: dict | None = None, **extra):
        super().__init__(f"{status} {kind}")
        self.status, self.kind, self.detail = status, kind, detail
        self.headers = dict(headers or {})
        self.extra = extra

    def body(self, instance: str | None = None) -> dict:
        doc = {"type": PROBLEM_TYPE_BASE + self.kind, "title": HTTPStatus(self.status).phrase, "status": self.status}
        if self.detail:
            doc["detail"] = self.detail
        if instance:
            doc["instance"] = instance
        doc.update(self.extra)
        return doc


def unavailable(detail: str, retry_after: int = 5) -> Problem:
    return Problem(503, "unavailable", detail, {"Retry-After": str(retry_after)})


def throttled(retry_after: int = 1) -> Problem:
    return Problem(429, "throttled", "too many requests, retry later", {"Retry-After": str(retry_after)})
