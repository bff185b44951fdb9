"""Request bodies: one JSON object, size-bounded, or an RFC 9457 problem (edge and API alike)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from appx_common.problems import Problem

JSON = "application/json"
# Python's parser turns a \uXXXX escape of an unpaired UTF-16 surrogate into a lone surrogate
# code point; such a string is not Unicode text and cannot be encoded as UTF-8 later (sealing,
# storage, logs). Escaped pairs arrive here already joined into one astral character.
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _reject_constant(name: str):
    # NaN and Infinity are not JSON (RFC 8259), whatever Python's parser allows.
    raise ValueError(name)


def _strings(doc: Any) -> Iterator[str]:
    # Iterative: a document may nest deeper than the interpreter's recursion limit allows.
    stack = [doc]
    while stack:
        value = stack.pop()
        if isinstance(value, str):
            yield value
        elif isinstance(value, dict):
            stack.extend(value)
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)


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
    if any(_LONE_SURROGATE.search(s) for s in _strings(doc)):
        raise Problem(400, "malformed-json", "a JSON string holds an unpaired UTF-16 surrogate escape (\\ud800-\\udfff)")
    return doc
