"""The capacity plan's inputs, parsed once into typed, validated objects: the traffic profile
(`capacity.yaml`) and AWS's regional quotas with the account's overrides (`quotas.yaml`).

Pure Python (no Pulumi): `tools.plan` and the policy rule `cell-capacity-n-1` read the same
objects. Every error is a `ConfigError` naming the file, the key and the allowed values.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from components.errors import ConfigError
from components.regions import AWS_REGIONS
from components.residency import Residency
from components.yaml_source import read_yaml
from functions.appx_common.kms_usage import KMS_OPS_PER_REQUEST

CAPACITY_FILE = "capacity.yaml"
QUOTAS_FILE = "quotas.yaml"
REQUEST_KINDS = tuple(KMS_OPS_PER_REQUEST)
PUBLIC_KINDS = ("feed", "postRead")  # cached by CloudFront, served by any cell, no edge function
QUOTA_KEYS = (
    "kmsSymmetricPerSecond", "kmsRsaPerSecond", "apiGatewayRps", "apiGatewayBurst", "lambdaConcurrentExecutions",
    "lambdaScalingPer10Seconds", "lambdaUnreservedMinimum", "dynamodbTableReadUnits", "dynamodbTableWriteUnits", "cloudfrontRpsPerDistribution",
)
ITEM_KEYS = ("profile", "token", "subjectKey", "post", "feedEntry", "idempotencyRecord", "feedPageItems", "postsPerAuthor")
DURATION_KEYS = ("api", "edge", "worker")
PRICE_KEYS = ("kmsKey", "healthCheck", "alarm", "hostedZone", "webAcl", "webAclRule")


@dataclass(frozen=True)
class TrafficProfile:
    peak_by_country: Mapping[str, float]  # viewer requests/s at the edge
    peak_by_zone: Mapping[str, float]  # spread evenly over the zone's cells
    route_mix: Mapping[str, float]  # request kind -> share (sums to 1)
    public_cache_hit_ratio: float
    item_bytes: Mapping[str, int]
    duration_ms: Mapping[str, float]
    monthly_prices_usd: Mapping[str, float]

    @property
    def peak_total(self) -> float:
        return sum(self.peak_by_country.values()) + sum(self.peak_by_zone.values())

    def zone_peak(self, zone: str, residency: Residency) -> float:
        countries = sum(p for c, p in self.peak_by_country.items() if residency.zone_for_country(c).name == zone)
        return countries + self.peak_by_zone.get(zone, 0.0)


@dataclass(frozen=True)
class Quota:
    key: str
    default: int
    regions: Mapping[str, int]
    source: str


@dataclass(frozen=True)
class Quotas:
    quotas: Mapping[str, Quota]
    account_overrides: Mapping[str, Mapping[str, int]]

    def value(self, key: str, region: str) -> int:
        """The account's value if overridden, else AWS's default for the region."""
        override = self.account_overrides.get(region, {}).get(key)
        if override is not None:
            return override
        quota = self.quotas[key]
        return quota.regions.get(region, quota.default)

    def source(self, key: str, region: str) -> str:
        if key in self.account_overrides.get(region, {}):
            return f"{QUOTAS_FILE} accountOverrides.{region}.{key}"
        return self.quotas[key].source


# --------------------------------------------------------------------------------------------
# Reading


def load_profile(path: Path, residency: Residency) -> TrafficProfile:
    return parse_profile(read_yaml(path), residency, path.name)


def load_quotas(path: Path) -> Quotas:
    return parse_quotas(read_yaml(path), path.name)


def parse_profile(raw: object, residency: Residency, source: str = CAPACITY_FILE) -> TrafficProfile:
    doc = _mapping(raw, source, "<document>")
    known = ("peakRequestsPerSecond", "routeMix", "publicCacheHitRatio", "itemSizesBytes", "functionDurationMs", "monthlyPricesUsd")
    _known_keys(doc, source, "", known)
    by_country: dict[str, float] = {}
    by_zone: dict[str, float] = {}
    allowed = sorted(residency.countries) + sorted(residency.zones)
    for name, value in _mapping(doc.get("peakRequestsPerSecond"), source, "peakRequestsPerSecond").items():
        key = f"peakRequestsPerSecond.{name}"
        rate = _number(value, source, key, 0, 10_000_000)
        if name in residency.zones:
            by_zone[name] = rate
        elif isinstance(name, str) and residency.zone_for_country(name) is not None:
            by_country[name.upper()] = rate
        else:
            raise ConfigError(source, key, "neither a country the residency allows nor a zone of residency.yaml", allowed)
    if not by_country and not by_zone:
        raise ConfigError(source, "peakRequestsPerSecond", "lists no traffic", allowed)

    mix_raw = _mapping(doc.get("routeMix"), source, "routeMix")
    _known_keys(mix_raw, source, "routeMix.", REQUEST_KINDS)
    mix = {kind: _number(mix_raw.get(kind, 0), source, f"routeMix.{kind}", 0, 1) for kind in REQUEST_KINDS}
    if not math.isclose(sum(mix.values()), 1.0, abs_tol=1e-6):
        raise ConfigError(source, "routeMix", f"shares add up to {sum(mix.values()):g}, not 1", "shares in 0..1 adding up to 1")

    items = _section(doc, source, "itemSizesBytes", ITEM_KEYS, 1, 400 * 1024, integer=True)
    return TrafficProfile(
        peak_by_country=by_country,
        peak_by_zone=by_zone,
        route_mix=mix,
        public_cache_hit_ratio=_number(doc.get("publicCacheHitRatio"), source, "publicCacheHitRatio", 0, 1),
        item_bytes=items,
        # Lambda@Edge origin-request functions time out at 30 s, regional functions at 900 s.
        duration_ms=_section(doc, source, "functionDurationMs", DURATION_KEYS, 1, 900_000),
        monthly_prices_usd=_section(doc, source, "monthlyPricesUsd", PRICE_KEYS, 0, 10_000),
    )


def parse_quotas(raw: object, source: str = QUOTAS_FILE) -> Quotas:
    doc = _mapping(raw, source, "<document>")
    _known_keys(doc, source, "", ("quotas", "accountOverrides"))
    body = _mapping(doc.get("quotas"), source, "quotas")
    _known_keys(body, source, "quotas.", QUOTA_KEYS)
    quotas: dict[str, Quota] = {}
    for key in QUOTA_KEYS:
        entry = _mapping(body.get(key), source, f"quotas.{key}")
        _known_keys(entry, source, f"quotas.{key}.", ("default", "regions", "source"))
        default = _int(entry.get("default"), source, f"quotas.{key}.default")
        regions = {
            region: _int(value, source, f"quotas.{key}.regions.{region}")
            for region, value in _regions(entry.get("regions") or {}, source, f"quotas.{key}.regions").items()
        }
        text = entry.get("source")
        if not isinstance(text, str) or not text.strip():
            raise ConfigError(source, f"quotas.{key}.source", "missing: every quota names where AWS documents it", "a citation")
        quotas[key] = Quota(key, default, regions, text.strip())
    overrides: dict[str, dict[str, int]] = {}
    for region, values in _regions(doc.get("accountOverrides") or {}, source, "accountOverrides").items():
        values = _mapping(values, source, f"accountOverrides.{region}")
        _known_keys(values, source, f"accountOverrides.{region}.", QUOTA_KEYS)
        overrides[region] = {k: _int(v, source, f"accountOverrides.{region}.{k}") for k, v in values.items()}
    return Quotas(quotas, overrides)


def _mapping(value: object, source: str, key: str) -> Mapping:
    if not isinstance(value, Mapping):
        raise ConfigError(source, key, "missing or not a mapping")
    return value


def _known_keys(doc: Mapping, source: str, prefix: str, known) -> None:
    for key in doc:
        if key not in known:
            raise ConfigError(source, f"{prefix}{key}", "unknown key", known)


def _regions(value: object, source: str, key: str) -> Mapping:
    doc = _mapping(value, source, key)
    for region in doc:
        if region not in AWS_REGIONS:
            raise ConfigError(source, f"{key}.{region}", f"unknown region {region!r}", AWS_REGIONS)
    return doc


def _number(value: object, source: str, key: str, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        raise ConfigError(source, key, f"must be a number in {low:g}..{high:g}, got {value!r}", f"{low:g}..{high:g}")
    return float(value)


def _int(value: object, source: str, key: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigError(source, key, f"must be a non-negative integer, got {value!r}", "0, 1, 2, ...")
    return value


def _section(doc: Mapping, source: str, key: str, keys: tuple[str, ...], low: float, high: float, integer: bool = False) -> dict:
    body = _mapping(doc.get(key), source, key)
    _known_keys(body, source, f"{key}.", keys)
    out = {}
    for name in keys:
        value = _number(body.get(name), source, f"{key}.{name}", low, high)
        out[name] = int(value) if integer else value
    return out
