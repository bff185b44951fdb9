"""Key operations behind one small interface.

* ``KmsKeyProvider``: KMS ``Decrypt`` with ``RSAES_OAEP_SHA_256`` on the zone's key ARN in this
  region (a multi-Region replica key, so every region of the zone can unwrap).
* ``LocalKeyProvider``: ``<dir>/<zone>.pem`` private keys (tests and the local runtime;
  moto's asymmetric KMS is not real RSA).
* ``CachingKeyProvider``: bounded (size and time) cache of unwrapped data keys in front of
  either; ``unwrap_calls`` counts the calls that reached KMS / the private key.

Selected by ``APPX_KEY_PROVIDER`` = ``kms`` | ``local:<dir>``.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Protocol

from cryptography.hazmat.primitives import serialization

from appx_common.envelope import EnvelopeError, Token, oaep


class KeyUnavailable(RuntimeError):
    """The zone's key cannot be reached right now (→ 503 with Retry-After)."""


class KeyProvider(Protocol):
    def unwrap(self, token: Token) -> bytes: ...

    def accepts(self, zone: str, key_id: str) -> bool: ...

    def check(self, zone: str) -> None: ...


class LocalKeyProvider:
    def __init__(self, directory: str | Path):
        self.directory = Path(directory)
        self._keys: dict[str, object] = {}

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


class KmsKeyProvider:
    """``zones`` is APPX_ZONES: zone -> {"keyArn": ...}. ``kms`` is a botocore KMS client;
    ``check_kms`` the one the health check's DescribeKey uses (one attempt, short timeouts)."""

    def __init__(self, zones: Mapping[str, Mapping[str, str]], kms, check_kms=None):
        self.zones, self.kms = zones, kms
        self.check_kms = check_kms or kms

    def _arn(self, zone: str) -> str:
        try:
            return self.zones[zone]["keyArn"]
        except KeyError:
            raise EnvelopeError(f"zone {zone} not served here") from None

    def accepts(self, zone: str, key_id: str) -> bool:
        arn = self.zones.get(zone, {}).get("keyArn", "")
        return bool(key_id) and (key_id == arn or arn.endswith("/" + key_id))

    def unwrap(self, token: Token) -> bytes:
        from botocore.exceptions import BotoCoreError, ClientError

        arn = self._arn(token.zone)
        if not self.accepts(token.zone, token.key_id):
            raise EnvelopeError("token sealed with another key")
        try:
            out = self.kms.decrypt(CiphertextBlob=token.wrapped_key, KeyId=arn, EncryptionAlgorithm="RSAES_OAEP_SHA_256")
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in ("InvalidCiphertextException", "IncorrectKeyException", "ValidationException"):
                raise EnvelopeError("data key unwrap failed") from None
            raise KeyUnavailable(code) from None
        except BotoCoreError as exc:
            raise KeyUnavailable(exc.__class__.__name__) from None
        return out["Plaintext"]

    def check(self, zone: str) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            meta = self.check_kms.describe_key(KeyId=self._arn(zone))["KeyMetadata"]
        except (ClientError, BotoCoreError, EnvelopeError) as exc:
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

    def __len__(self) -> int:
        return len(self._cache)


def key_provider_from_spec(spec: str, zones: Mapping[str, Mapping[str, str]], kms_factory: Callable[[], object],
                           check_kms_factory: Callable[[], object] | None = None) -> KeyProvider:
    if spec.startswith("local:"):
        return LocalKeyProvider(spec[len("local:"):])
    if spec in ("", "kms"):
        return KmsKeyProvider(zones, kms_factory(), check_kms_factory() if check_kms_factory else None)
    raise ValueError(f"APPX_KEY_PROVIDER must be 'kms' or 'local:<dir>', not {spec!r}")
