"""Key operations behind one small interface (docs/token-format.md, key hierarchy).

Two kinds of operation:
* ``unwrap``: the edge's RSA-wrapped request data key (asymmetric; once per write request).
* ``new_subject_key`` / ``open_subject_key``: a subject's AES-256 key, generated and unwrapped
  by the zone's symmetric key-wrapping key with an encryption context naming the zone and a
  hash of the subject (symmetric; on sign-up and on a cold read).

* ``KmsKeyProvider``: KMS ``Decrypt`` with ``RSAES_OAEP_SHA_256`` on the zone's field key, and
  ``GenerateDataKey`` / ``Decrypt`` on the zone's symmetric wrapping key (both multi-Region keys
  with replicas only inside the zone, so every region of the zone can unwrap).
* ``LocalKeyProvider``: ``<dir>/<zone>.pem`` private keys and ``<dir>/<zone>.wrap`` (32 random
  bytes, AES-256-GCM key wrap with the context as AAD) for tests and the local runtime; moto's
  asymmetric KMS is not real RSA.
* ``CachingKeyProvider``: bounded (size and time) cache of unwrapped request data keys in front
  of either; ``unwrap_calls`` counts the calls that reached KMS / the private key.

Selected by ``APPX_KEY_PROVIDER`` = ``kms`` | ``local:<dir>``.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from appx_common.envelope import EnvelopeError, Token, oaep


class KeyUnavailable(RuntimeError):
    """The zone's key cannot be reached right now (→ 503 with Retry-After)."""


SUBJECT_KEY_BYTES = 32


def subject_context(zone: str, subject: str) -> dict[str, str]:
    """KMS encryption context of a subject key. KMS logs the context in CloudTrail in clear, so it
    names the subject only by a hash; GCM/KMS binding makes a wrapped key useless for any other
    subject or zone."""
    return {"appx:purpose": "subject-key", "appx:zone": zone, "appx:subject": hashlib.sha256(("appx-subject:" + subject).encode()).hexdigest()}


class KeyProvider(Protocol):
    def unwrap(self, token: Token) -> bytes: ...

    def accepts(self, zone: str, key_id: str) -> bool: ...

    def check(self, zone: str) -> None: ...

    def new_subject_key(self, zone: str, subject: str) -> tuple[bytes, bytes]:
        """(plaintext, wrapped) of a fresh 256-bit subject key."""
        ...

    def open_subject_key(self, zone: str, subject: str, wrapped: bytes) -> bytes: ...


class LocalKeyProvider:
    def __init__(self, directory: str | Path):
        self.directory = Path(directory)
        self._keys: dict[str, object] = {}
        self._wrap_keys: dict[str, AESGCM] = {}

    def _wrap_key(self, zone: str) -> AESGCM:
        if zone not in self._wrap_keys:
            try:
                material = (self.directory / f"{zone}.wrap").read_bytes()
            except OSError as exc:
                raise KeyUnavailable(f"no local wrapping key for zone {zone}: {exc.__class__.__name__}") from None
            if len(material) != SUBJECT_KEY_BYTES:
                raise KeyUnavailable(f"local wrapping key for zone {zone} is not {SUBJECT_KEY_BYTES} bytes")
            self._wrap_keys[zone] = AESGCM(material)
        return self._wrap_keys[zone]

    @staticmethod
    def _context_aad(zone: str, subject: str) -> bytes:
        return json.dumps(subject_context(zone, subject), sort_keys=True).encode()

    def new_subject_key(self, zone: str, subject: str) -> tuple[bytes, bytes]:
        key = AESGCM.generate_key(bit_length=256)
        nonce = os.urandom(12)
        return key, nonce + self._wrap_key(zone).encrypt(nonce, key, self._context_aad(zone, subject))

    def open_subject_key(self, zone: str, subject: str, wrapped: bytes) -> bytes:
        try:
            return self._wrap_key(zone).decrypt(wrapped[:12], wrapped[12:], self._context_aad(zone, subject))
        except (InvalidTag, ValueError):
            raise EnvelopeError("subject key unwrap failed") from None

    def _key(self, zone: str):
        if zone not in self._keys:
            path = self.directory / f"{zone}.pem"
            try:
                self._keys[zone] = serialization.load_pem_private_key(path.read_bytes(), password=None)
            except (OSError, ValueError) as exc:
                raise KeyUnavailable(f"no local key for zone {zone}: {exc.__class__.__name__}") from None
        return self._keys[zone]

    def unwrap(self, token: Token) -> bytes:
        key = self._key(token.zone)
        try:
            return key.decrypt(token.wrapped_key, oaep())
        except ValueError:
            raise EnvelopeError("data key unwrap failed") from None

    def accepts(self, zone: str, key_id: str) -> bool:
        return bool(key_id)

    def check(self, zone: str) -> None:
        self._key(zone)
        self._wrap_key(zone)


class KmsKeyProvider:
    """``zones`` is APPX_ZONES: zone -> {"keyArn": ..., "wrapKeyArn": ...}. ``kms`` is a botocore
    KMS client."""

    def __init__(self, zones: Mapping[str, Mapping[str, str]], kms):
        self.zones, self.kms = zones, kms

    def _arn(self, zone: str, kind: str = "keyArn") -> str:
        try:
            return self.zones[zone][kind]
        except KeyError:
            raise EnvelopeError(f"zone {zone} not served here") from None

    def _call(self, operation: str, **kwargs) -> dict:
        """A KMS call; a rejected ciphertext is an EnvelopeError, anything else KeyUnavailable."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return getattr(self.kms, operation)(**kwargs)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in ("InvalidCiphertextException", "IncorrectKeyException", "ValidationException"):
                raise EnvelopeError("key unwrap failed") from None
            raise KeyUnavailable(code) from None
        except BotoCoreError as exc:
            raise KeyUnavailable(exc.__class__.__name__) from None

    def new_subject_key(self, zone: str, subject: str) -> tuple[bytes, bytes]:
        out = self._call("generate_data_key", KeyId=self._arn(zone, "wrapKeyArn"), KeySpec="AES_256",
                         EncryptionContext=subject_context(zone, subject))
        return out["Plaintext"], out["CiphertextBlob"]

    def open_subject_key(self, zone: str, subject: str, wrapped: bytes) -> bytes:
        out = self._call("decrypt", CiphertextBlob=wrapped, KeyId=self._arn(zone, "wrapKeyArn"),
                         EncryptionContext=subject_context(zone, subject))
        return out["Plaintext"]

    def accepts(self, zone: str, key_id: str) -> bool:
        arn = self.zones.get(zone, {}).get("keyArn", "")
        return bool(key_id) and (key_id == arn or arn.endswith("/" + key_id))

    def unwrap(self, token: Token) -> bytes:
        arn = self._arn(token.zone)
        if not self.accepts(token.zone, token.key_id):
            raise EnvelopeError("token sealed with another key")
        return self._call("decrypt", CiphertextBlob=token.wrapped_key, KeyId=arn, EncryptionAlgorithm="RSAES_OAEP_SHA_256")["Plaintext"]

    def check(self, zone: str) -> None:
        for kind in ("keyArn", "wrapKeyArn"):
            try:
                meta = self._call("describe_key", KeyId=self._arn(zone, kind))["KeyMetadata"]
            except EnvelopeError as exc:
                raise KeyUnavailable(exc.__class__.__name__) from None
            if not meta.get("Enabled", False):
                raise KeyUnavailable("key disabled")


class CachingKeyProvider:
    """Bounded LRU of unwrapped data keys with a time limit. Thread-safe."""

    def __init__(self, inner: KeyProvider, max_entries: int = 512, ttl_seconds: float = 300.0, clock: Callable[[], float] = time.monotonic):
        self.inner, self.max_entries, self.ttl, self.clock = inner, max_entries, ttl_seconds, clock
        self._cache: OrderedDict[bytes, tuple[float, bytes]] = OrderedDict()
        self._lock = threading.Lock()
        self.unwrap_calls = 0
        self.cache_hits = 0

    def unwrap(self, token: Token) -> bytes:
        ref = hashlib.sha256(f"{token.zone}\0{token.key_id}\0".encode() + token.wrapped_key).digest()
        now = self.clock()
        with self._lock:
            hit = self._cache.get(ref)
            if hit and hit[0] > now:
                self._cache.move_to_end(ref)
                self.cache_hits += 1
                return hit[1]
            self.unwrap_calls += 1  # under the lock: += is not atomic across threads
        key = self.inner.unwrap(token)
        with self._lock:
            self._cache[ref] = (now + self.ttl, key)
            self._cache.move_to_end(ref)
            while len(self._cache) > self.max_entries:
                self._cache.popitem(last=False)
        return key

    def accepts(self, zone: str, key_id: str) -> bool:
        return self.inner.accepts(zone, key_id)

    def check(self, zone: str) -> None:
        self.inner.check(zone)

    def new_subject_key(self, zone: str, subject: str) -> tuple[bytes, bytes]:
        return self.inner.new_subject_key(zone, subject)

    def open_subject_key(self, zone: str, subject: str, wrapped: bytes) -> bytes:
        return self.inner.open_subject_key(zone, subject, wrapped)

    def __len__(self) -> int:
        return len(self._cache)


def key_provider_from_spec(spec: str, zones: Mapping[str, Mapping[str, str]], kms_factory: Callable[[], object]) -> KeyProvider:
    if spec.startswith("local:"):
        return LocalKeyProvider(spec[len("local:"):])
    if spec in ("", "kms"):
        return KmsKeyProvider(zones, kms_factory())
    raise ValueError(f"APPX_KEY_PROVIDER must be 'kms' or 'local:<dir>', not {spec!r}")
