"""Field envelope encryption: the token format of docs/token-format.md (version ``appxenc1``).

One RSA-OAEP-SHA256 wrap of a fresh AES-256-GCM data key per request; every field gets its
own 96-bit nonce; the associated data binds the field name, the zone, the key id and the
subject (the user id), so a token moved to another field, subject or zone fails to open.

    appxenc1.<zone>.<b64u(key id)>.<b64u(wrapped data key)>.<b64u(nonce)>.<b64u(ciphertext||tag)>

Only ``cryptography`` primitives are used (AESGCM, RSA OAEP with MGF1-SHA256).
"""

from __future__ import annotations

import base64
import json
import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

VERSION = "appxenc1"
PREFIX = VERSION + "."
NONCE_BYTES = 12
DATA_KEY_BYTES = 32
_B64U = re.compile(r"^[A-Za-z0-9_-]+$")
_ZONE = re.compile(r"^[a-z][a-z0-9]{0,14}$")
MAX_TOKEN_CHARS = 16384


class EnvelopeError(ValueError):
    """A token is malformed, or fails authentication (tampered, swapped or replayed)."""


def oaep() -> padding.OAEP:
    return padding.OAEP(mgf=padding.MGF1(algorithm=hashes.SHA256()), algorithm=hashes.SHA256(), label=None)


def b64u_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def b64u_decode(text: str) -> bytes:
    """Strict, canonical base64url without padding (a changed trailing bit is an error)."""
    if not _B64U.match(text):
        raise EnvelopeError("bad base64url")
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, TypeError):
        raise EnvelopeError("bad base64url") from None
    if b64u_encode(data) != text:
        raise EnvelopeError("non-canonical base64url")
    return data


def aad(field: str, zone: str, key_id: str, subject: str) -> bytes:
    return json.dumps([VERSION, field, zone, key_id, subject], separators=(",", ":"), ensure_ascii=True).encode("ascii")


def looks_like_token(value: str) -> bool:
    """True for anything a client could pass off as one of our ciphertexts."""
    return value.lstrip()[: len(VERSION)].lower() == VERSION


@dataclass(frozen=True)
class Token:
    zone: str
    key_id: str
    wrapped_key: bytes
    nonce: bytes
    ciphertext: bytes


def parse_token(text: object) -> Token:
    if not isinstance(text, str) or len(text) > MAX_TOKEN_CHARS:
        raise EnvelopeError("not a token")
    parts = text.split(".")
    if len(parts) != 6 or parts[0] != VERSION:
        raise EnvelopeError("not a token")
    _, zone, kid, wrapped, nonce, ct = parts
    if not _ZONE.match(zone):
        raise EnvelopeError("bad zone")
    try:
        key_id = b64u_decode(kid).decode("utf-8")
    except UnicodeDecodeError:
        raise EnvelopeError("bad key id") from None
    token = Token(zone, key_id, b64u_decode(wrapped), b64u_decode(nonce), b64u_decode(ct))
    if len(token.nonce) != NONCE_BYTES or len(token.ciphertext) < 16 or not key_id:
        raise EnvelopeError("bad token lengths")
    return token


def format_token(zone: str, key_id: str, wrapped_key: bytes, nonce: bytes, ciphertext: bytes) -> str:
    return ".".join((VERSION, zone, b64u_encode(key_id.encode("utf-8")), b64u_encode(wrapped_key), b64u_encode(nonce), b64u_encode(ciphertext)))


class Sealer:
    """Edge side: seal fields for one zone's public key."""

    def __init__(self, zone: str, key_id: str, public_key: rsa.RSAPublicKey):
        self.zone, self.key_id, self.public_key = zone, key_id, public_key

    def seal(self, values: Mapping[str, Any], subject: str) -> dict[str, str]:
        """Seal every value (any JSON value) with ONE wrap of a fresh data key."""
        if not values:
            return {}
        data_key = AESGCM.generate_key(bit_length=256)
        wrapped = self.public_key.encrypt(data_key, oaep())
        aead = AESGCM(data_key)
        out = {}
        for field, value in values.items():
            nonce = os.urandom(NONCE_BYTES)
            plaintext = json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
            ct = aead.encrypt(nonce, plaintext, aad(field, self.zone, self.key_id, subject))
            out[field] = format_token(self.zone, self.key_id, wrapped, nonce, ct)
        return out


Unwrap = Callable[[Token], bytes]


def open_token(text: object, field: str, subject: str, zone: str, unwrap: Unwrap) -> Any:
    """Region side: authenticate and decrypt one field; raise EnvelopeError on any mismatch."""
    token = parse_token(text)
    if token.zone != zone:
        raise EnvelopeError("token sealed for another zone")
    data_key = unwrap(token)
    if len(data_key) != DATA_KEY_BYTES:
        raise EnvelopeError("bad data key")
    try:
        plaintext = AESGCM(data_key).decrypt(token.nonce, token.ciphertext, aad(field, token.zone, token.key_id, subject))
    except InvalidTag:
        raise EnvelopeError("authentication failed") from None
    try:
        return json.loads(plaintext.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise EnvelopeError("bad plaintext") from None


def open_fields(tokens: Mapping[str, object], fields: Iterable[str], subject: str, zone: str, unwrap: Unwrap) -> dict[str, Any]:
    return {f: open_token(tokens[f], f, subject, zone, unwrap) for f in fields if f in tokens}


# ---- fields at rest: sealed under the subject's own key (docs/token-format.md §2) ------------------
SUBJECT_VERSION = "appxsk1"
_KEY_VERSION = re.compile(r"^[1-9][0-9]{0,5}$")


def subject_aad(field: str, zone: str, subject: str, key_version: int) -> bytes:
    return json.dumps([SUBJECT_VERSION, field, zone, subject, key_version], separators=(",", ":"), ensure_ascii=True).encode("ascii")


def seal_for_subject(key: bytes, field: str, zone: str, subject: str, key_version: int, value: Any) -> str:
    """AES-256-GCM under the subject key; the AAD binds field, zone, subject and key version."""
    if len(key) != DATA_KEY_BYTES:
        raise EnvelopeError("bad subject key")
    nonce = os.urandom(NONCE_BYTES)
    plaintext = json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    ct = AESGCM(key).encrypt(nonce, plaintext, subject_aad(field, zone, subject, key_version))
    return ".".join((SUBJECT_VERSION, zone, str(key_version), b64u_encode(nonce), b64u_encode(ct)))


def subject_token_version(text: object) -> int:
    """The key version a subject-sealed value names (so the reader picks that key)."""
    if not isinstance(text, str) or len(text) > MAX_TOKEN_CHARS:
        raise EnvelopeError("not a subject token")
    parts = text.split(".")
    if len(parts) != 5 or parts[0] != SUBJECT_VERSION or not _KEY_VERSION.match(parts[2]):
        raise EnvelopeError("not a subject token")
    return int(parts[2])


def open_for_subject(text: object, key: bytes, field: str, zone: str, subject: str, key_version: int) -> Any:
    version = subject_token_version(text)
    _, token_zone, _, nonce_text, ct_text = text.split(".")  # type: ignore[union-attr]
    if token_zone != zone or version != key_version:
        raise EnvelopeError("sealed for another zone or key version")
    nonce, ct = b64u_decode(nonce_text), b64u_decode(ct_text)
    if len(nonce) != NONCE_BYTES or len(ct) < 16 or len(key) != DATA_KEY_BYTES:
        raise EnvelopeError("bad token lengths")
    try:
        plaintext = AESGCM(key).decrypt(nonce, ct, subject_aad(field, zone, subject, key_version))
    except InvalidTag:
        raise EnvelopeError("authentication failed") from None
    try:
        return json.loads(plaintext.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise EnvelopeError("bad plaintext") from None
