"""Request bodies: one JSON object, size-bounded, or an RFC 9457 problem (edge and API alike)."""

from __future__ import annotations

import json

from appx_common.problems import Problem

JSON = "application/json"


def _reject_constant(name: str):
    # NaN and Infinity are not JSON (RFC 8259), whatever Python's parser allows.
    raise ValueError(name)


def parse_json_object(raw: bytes, content_type: str | None, max_bytes: int) -> dict:
    if len(raw) > max_bytes:
        raise Problem(413, "body-too-large", f"request bodies are limited to {max_bytes} bytes")
    if (content_type or "").split(";")[0].strip().lower() != JSON:
        raise Problem(415, "unsupported-media-type", "send application/json")
    try:
        # RecursionError: a deeply nested document within the size limit.
        doc = json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise Problem(400, "malformed-json", "the body is not valid UTF-8 JSON") from None
    if not isinstance(doc, dict):
        raise Problem(400, "malformed-json", "the body must be a JSON object")
    return doc
