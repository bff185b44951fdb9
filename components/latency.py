"""The latency model of the capacity plan, from `latency.yaml`: measured inter-region round trips
as the backbone, plus a distance term fitted on them (see the file's header for the formulas).

Pure Python: `tools.plan` uses it for the cell that latency routing picks per country and the
round trip it costs; the capacity model uses the same picks to place each country's load.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from components.errors import ConfigError
from components.regions import AWS_REGIONS
from components.yaml_source import read_yaml

LATENCY_FILE = "latency.yaml"
EARTH_RADIUS_KM = 6371.0088  # IUGG mean radius


@dataclass(frozen=True)
class Point:
    lat: float
    lon: float


def great_circle_km(a: Point, b: Point) -> float:
    """Haversine distance."""
    la1, lo1, la2, lo2 = map(math.radians, (a.lat, a.lon, b.lat, b.lon))
    h = math.sin((la2 - la1) / 2) ** 2 + math.cos(la1) * math.cos(la2) * math.sin((lo2 - lo1) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(h))


@dataclass(frozen=True)
class DistanceFit:
    intercept_ms: float
    ms_per_1000km: float

    def rtt(self, km: float) -> float:
        return self.intercept_ms + self.ms_per_1000km * km / 1000


def fit_distance(pairs: Iterable[tuple[float, float]]) -> DistanceFit:
    """Least-squares line through (km, ms) pairs."""
    pairs = list(pairs)
    n = len(pairs)
    mean_x = sum(x for x, _ in pairs) / n
    mean_y = sum(y for _, y in pairs) / n
    slope = sum((x - mean_x) * (y - mean_y) for x, y in pairs) / sum((x - mean_x) ** 2 for x, _ in pairs)
    return DistanceFit(mean_y - slope * mean_x, slope * 1000)


@dataclass(frozen=True)
class LatencyModel:
    regions: Mapping[str, Point]
    countries: Mapping[str, Point]
    measured_ms: Mapping[frozenset, float]
    edge_regions: tuple[str, ...]
    fit: DistanceFit

    def backbone_ms(self, a: str, b: str) -> float:
        if a == b:
            return 0.0
        measured = self.measured_ms.get(frozenset((a, b)))
        return measured if measured is not None else self.fit.rtt(great_circle_km(self.regions[a], self.regions[b]))

    def viewer_ms(self, country: str, region: str) -> float:
        """Round trip from a viewer in `country` to `region`: onto the AWS network at the best
        region, then the backbone."""
        here = self.countries[country]
        return min(self.fit.rtt(great_circle_km(here, self.regions[h])) + self.backbone_ms(h, region) for h in self.regions)

    def pick(self, country: str, candidates: Iterable[str]) -> str | None:
        """What latency routing answers: the candidate with the lowest round trip (None if none)."""
        ranked = sorted(candidates, key=lambda r: (self.viewer_ms(country, r), r))
        return ranked[0] if ranked else None

    def residuals(self) -> dict[tuple[str, str], float]:
        """Measured minus fitted round trip for every backbone pair."""
        out = {}
        for pair, ms in self.measured_ms.items():
            a, b = sorted(pair)
            out[(a, b)] = ms - self.fit.rtt(great_circle_km(self.regions[a], self.regions[b]))
        return out


def load_latency_model(path: Path, countries: Iterable[str] = ()) -> LatencyModel:
    """Parse `latency.yaml`; every country in `countries` (the residency's) needs a centre."""
    return parse_latency_model(read_yaml(path), path.name, countries)


def parse_latency_model(raw: object, source: str = LATENCY_FILE, countries: Iterable[str] = ()) -> LatencyModel:
    if not isinstance(raw, Mapping):
        raise ConfigError(source, "<document>", "must be a mapping with keys measuredRttMs, regions, edgeExecutionRegions, countries")
    known = ("measuredRttMs", "regions", "edgeExecutionRegions", "countries")
    for key in raw:
        if key not in known:
            raise ConfigError(source, str(key), "unknown key", known)
    regions_raw = raw.get("regions")
    if not isinstance(regions_raw, Mapping) or not regions_raw:
        raise ConfigError(source, "regions", "must map regions to {city, lat, lon}")
    regions = {}
    for name, body in regions_raw.items():
        if name not in AWS_REGIONS:
            raise ConfigError(source, f"regions.{name}", f"unknown region {name!r}", AWS_REGIONS)
        body = body if isinstance(body, Mapping) else {}
        regions[name] = _point(body.get("lat"), body.get("lon"), source, f"regions.{name}")
    measured: dict[frozenset, float] = {}
    for i, entry in enumerate(raw.get("measuredRttMs") or []):
        key = f"measuredRttMs[{i}]"
        if not (isinstance(entry, list) and len(entry) == 3 and entry[0] in regions and entry[1] in regions and entry[0] != entry[1]):
            raise ConfigError(source, key, f"not [region, other region, ms] of listed regions: {entry!r}", sorted(regions))
        if isinstance(entry[2], bool) or not isinstance(entry[2], (int, float)) or not 0 < entry[2] < 1000:
            raise ConfigError(source, key, f"round trip must be a number of ms in 0..1000, got {entry[2]!r}", "0..1000")
        measured[frozenset(entry[:2])] = float(entry[2])
    if len(measured) < 2:
        raise ConfigError(source, "measuredRttMs", "needs at least two measured region pairs to fit the distance term")
    edge = raw.get("edgeExecutionRegions")
    if not isinstance(edge, list) or not edge or any(r not in regions for r in edge):
        raise ConfigError(source, "edgeExecutionRegions", f"must be a non-empty list of listed regions, got {edge!r}", sorted(regions))
    centres_raw = raw.get("countries")
    if not isinstance(centres_raw, Mapping):
        raise ConfigError(source, "countries", "must map ISO country codes to [lat, lon]")
    centres = {}
    for code, value in centres_raw.items():
        value = value if isinstance(value, list) and len(value) == 2 else [None, None]
        centres[str(code)] = _point(value[0], value[1], source, f"countries.{code}")
    for code in countries:
        if code not in centres:
            raise ConfigError(source, f"countries.{code}", "missing: every country of residency.yaml needs its centre", "[lat, lon]")
    fit = fit_distance((great_circle_km(*(regions[r] for r in pair)), ms) for pair, ms in measured.items())
    return LatencyModel(regions, centres, measured, tuple(edge), fit)


def _point(lat: object, lon: object, source: str, key: str) -> Point:
    for name, value, bound in (("lat", lat, 90), ("lon", lon, 180)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not -bound <= value <= bound:
            raise ConfigError(source, f"{key}.{name}", f"must be decimal degrees in -{bound}..{bound}, got {value!r}", f"-{bound}..{bound}")
    return Point(float(lat), float(lon))
