"""Subject references: a keyed hash (HMAC-SHA256) of a user id, the only form in which an erased
subject is remembered (tombstones, erasure jobs' keys, idempotency records' ``subject``).

The HMAC key belongs to the subject's residency zone:

* ``kms``: derived once per execution environment from the zone's KMS multi-Region HMAC key
  (``APPX_ZONES[zone].macKeyArn``, replicas only inside the zone): ``GenerateMac`` over a fixed
  label, whose 32-byte result keys the in-process HMAC. One KMS call per zone per container,
  none per request; the KMS key itself never leaves KMS.
* ``local:<dir>``: ``<dir>/<zone>.mac`` (32 random bytes; tests and the local runtime).

Without the key nobody can tell from a tombstone whom it is about, nor test a known user id
against the tombstones: the reference identifies nobody on its own.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from pathlib import Path

from cryptography.hazmat.primitives import hashes, hmac

from appx_common.ids import zone_of

DERIVATION_LABEL = b"appx-subject-ref-v1"


class SubjectKeyUnavailable(RuntimeError):
    """The zone's HMAC key cannot be reached: a write that needs the tombstone check must wait."""


class SubjectRefs:
    def __init__(self, load_key: Callable[[str], bytes]):
        self._load_key = load_key
        self._keys: dict[str, bytes] = {}
        self._lock = threading.Lock()

    def key(self, zone: str) -> bytes:
        with self._lock:
            cached = self._keys.get(zone)
        if cached is None:
            cached = self._load_key(zone)
            with self._lock:
                self._keys[zone] = cached
        return cached

    def ref(self, user_id: str) -> str:
        zone = zone_of(user_id)
        if zone is None:
            raise ValueError("not a user id")
        mac = hmac.HMAC(self.key(zone), hashes.SHA256())
        mac.update(user_id.encode("ascii"))
        return mac.finalize().hex()


def local_loader(directory: str | Path) -> Callable[[str], bytes]:
    def load(zone: str) -> bytes:
        try:
            return (Path(directory) / f"{zone}.mac").read_bytes()
        except OSError as exc:
            raise SubjectKeyUnavailable(f"no local HMAC key for zone {zone}: {exc.__class__.__name__}") from None

    return load


def kms_loader(zones: Mapping[str, Mapping[str, str]], kms_factory: Callable[[], object]) -> Callable[[str], bytes]:
    def load(zone: str) -> bytes:
        from botocore.exceptions import BotoCoreError, ClientError

        arn = zones.get(zone, {}).get("macKeyArn")
        if not arn:
            raise SubjectKeyUnavailable(f"APPX_ZONES has no macKeyArn for zone {zone}")
        try:
            return kms_factory().generate_mac(KeyId=arn, MacAlgorithm="HMAC_SHA_256", Message=DERIVATION_LABEL)["Mac"]
        except (ClientError, BotoCoreError) as exc:
            raise SubjectKeyUnavailable(exc.__class__.__name__) from None

    return load


def subject_refs_from_spec(spec: str, zones: Mapping[str, Mapping[str, str]], kms_factory: Callable[[], object]) -> SubjectRefs:
    """``spec`` is APPX_KEY_PROVIDER: the HMAC keys live where the zone's field keys live."""
    if spec.startswith("local:"):
        return SubjectRefs(local_loader(spec[len("local:"):]))
    return SubjectRefs(kms_loader(zones, kms_factory))
