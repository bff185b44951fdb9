"""The regional functions' environment (docs/runtime-contract.md), parsed from a mapping so
several regions can run in one process."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field


class EnvError(ValueError):
    pass


@dataclass(frozen=True)
class RegionConfig:
    region: str
    zones: Mapping[str, Mapping[str, str]]
    posts_table: str = "appx-posts"
    feed_table: str = "appx-feed"
    idempotency_table: str = "appx-idempotency"
    queue_url: str = ""
    key_provider: str = "kms"
    service: str = "appx"
    endpoint_url: str | None = None
    # Shared secret CloudFront adds to every origin request; when set, the API refuses
    # requests without it so the origins cannot be used around the edge.
    origin_secret: str | None = None
    # How long a tombstone outlives the erasure: longer than any queue, DLQ, redrive and stream
    # window and than any table's PITR window (components.erasure_windows derives it from the
    # stack config; the deployed functions always get it, this default serves tests).
    tombstone_seconds: int = 30 * 86400
    # How long after the tombstone an erasure job waits before it trusts an empty answer from
    # the eventually consistent indexes (GSI propagation, replication within the zone).
    erasure_settle_seconds: int = 60
    # A job whose last attempt is older than this is attempted again by the sweeper.
    erasure_retry_seconds: int = 60
    extra: Mapping[str, str] = field(default_factory=dict)

    def restricted_table(self, zone: str) -> str:
        return self.zones[zone]["table"]

    def subject_keys_table(self, zone: str) -> str:
        return self.zones[zone]["keysTable"]

    def key_store_regions(self, zone: str) -> tuple[str, ...]:
        """Where the zone's key store has a copy, this region first (appx_common.key_store)."""
        regions = self.zones[zone].get("keyStoreRegions") or [self.region]
        return (self.region, *(r for r in regions if r != self.region))

    @classmethod
    def from_env(cls, env: Mapping[str, str], service: str) -> RegionConfig:
        region = env.get("APPX_REGION") or env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION")
        if not region:
            raise EnvError("APPX_REGION is not set")
        try:
            zones = json.loads(env.get("APPX_ZONES", "{}"))
        except ValueError:
            raise EnvError("APPX_ZONES is not JSON") from None
        if not isinstance(zones, dict) or not all(isinstance(z, dict) and {"table", "keysTable"} <= set(z) for z in zones.values()):
            raise EnvError('APPX_ZONES must be {"<zone>": {"table": ..., "keysTable": ..., "keyStoreRegions": [...], "keyArn": ..., "wrapKeyArn": ...}}')
        return cls(
            region=region,
            zones=zones,
            posts_table=env.get("APPX_POSTS_TABLE", "appx-posts"),
            feed_table=env.get("APPX_FEED_TABLE", "appx-feed"),
            idempotency_table=env.get("APPX_IDEMPOTENCY_TABLE", "appx-idempotency"),
            queue_url=env.get("APPX_QUEUE_URL", ""),
            key_provider=env.get("APPX_KEY_PROVIDER", "kms"),
            service=env.get("POWERTOOLS_SERVICE_NAME", service),
            endpoint_url=env.get("AWS_ENDPOINT_URL") or None,
            origin_secret=env.get("APPX_ORIGIN_SECRET") or None,
            tombstone_seconds=_seconds(env, "APPX_TOMBSTONE_SECONDS", cls.tombstone_seconds),
            erasure_settle_seconds=_seconds(env, "APPX_ERASURE_SETTLE_SECONDS", cls.erasure_settle_seconds),
            erasure_retry_seconds=_seconds(env, "APPX_ERASURE_RETRY_SECONDS", cls.erasure_retry_seconds),
        )


def _seconds(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isascii() or not raw.isdigit():
        raise EnvError(f"{name} must be a whole number of seconds, not {raw!r}")
    return int(raw)
