"""The residency model: zones of EU regions that restricted data may live in, and countries
mapped to zones. Parsed once from `residency.yaml` into typed, validated objects.

Pure Python (no Pulumi import): the program, the packaging of the edge function's config and
the policy pack all read the same definition through this module, so they cannot drift.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from components.errors import ConfigError
from components.regions import AWS_REGIONS, EU_REGIONS
from components.yaml_source import read_yaml

RESIDENCY_FILE = "residency.yaml"
DENY = "deny"
# Zone names end up in host names (<zone>.origin.<domain>), user ids and resource names.
_ZONE_NAME = re.compile(r"^[a-z][a-z0-9]{0,14}$")
_COUNTRY = re.compile(r"^[A-Z]{2}$")
_FIELD = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")


@dataclass(frozen=True)
class ResidencyZone:
    """A named set of EU regions that a user's restricted data may live in."""

    name: str
    regions: tuple[str, ...]

    @property
    def home_region(self) -> str:
        """The region whose cell owns the zone's global table and primary field key."""
        return self.regions[0]

    @property
    def replica_regions(self) -> tuple[str, ...]:
        return self.regions[1:]

    def origin_host(self, domain: str) -> str:
        return f"{self.name}.origin.{domain}"


@dataclass(frozen=True)
class Residency:
    zones: Mapping[str, ResidencyZone]
    countries: Mapping[str, str]
    unmapped_countries: str
    sensitive_fields: tuple[str, ...]
    source: str = RESIDENCY_FILE

    @property
    def regions(self) -> frozenset[str]:
        return frozenset(r for z in self.zones.values() for r in z.regions)

    def zones_in(self, region: str) -> list[ResidencyZone]:
        return [z for z in self.zones.values() if region in z.regions]

    def zone_for_country(self, country: str) -> ResidencyZone | None:
        name = self.countries.get(country.upper())
        if name is None and self.unmapped_countries != DENY:
            name = self.unmapped_countries
        return self.zones.get(name) if name else None

    @property
    def viewer_whitelist(self) -> tuple[str, ...] | None:
        """The distribution's geo restriction: with `unmappedCountries: deny`, CloudFront serves
        only the mapped countries (others get its 403); otherwise every country (None)."""
        return tuple(sorted(self.countries)) if self.unmapped_countries == DENY else None

    def default_origin_host(self, domain: str) -> str:
        """The personal behaviours' configured origin, before the edge function picks the
        user's zone origin (requests it passes through untouched go here)."""
        return next(iter(self.zones.values())).origin_host(domain)

    def routing_document(self) -> dict:
        """The part of the edge function's bundled config that comes from this file."""
        return {
            "countries": dict(self.countries),
            "unmappedCountries": self.unmapped_countries,
            "sensitiveFields": list(self.sensitive_fields),
            "zones": {z.name: {"regions": list(z.regions)} for z in self.zones.values()},
        }


def load_residency(path: Path, cell_regions: Iterable[str] | None = None) -> Residency:
    """Parse and validate `residency.yaml`.

    `cell_regions`, when given, are the regions that have a cell stack; every zone region must
    be one of them, or restricted data would be routed to a region with nothing deployed.
    """
    return parse_residency(read_yaml(path), path.name, cell_regions)


def parse_residency(raw: object, source: str = RESIDENCY_FILE, cell_regions: Iterable[str] | None = None) -> Residency:
    if not isinstance(raw, Mapping):
        raise ConfigError(source, "<document>", "must be a mapping with keys zones, countries, unmappedCountries, sensitiveFields")
    known = {"zones", "countries", "unmappedCountries", "sensitiveFields"}
    for key in raw:
        if key not in known:
            raise ConfigError(source, str(key), "unknown key", known)

    zones = _parse_zones(raw.get("zones"), source, None if cell_regions is None else frozenset(cell_regions))
    countries = _parse_countries(raw.get("countries"), source, zones)

    unmapped = raw.get("unmappedCountries", DENY)
    if unmapped != DENY and unmapped not in zones:
        raise ConfigError(source, "unmappedCountries", f"unknown value {unmapped!r}", [DENY, *zones])

    fields = raw.get("sensitiveFields")
    if not isinstance(fields, list) or not fields:
        raise ConfigError(source, "sensitiveFields", "must be a non-empty list of JSON field names")
    for i, field in enumerate(fields):
        if not isinstance(field, str) or not _FIELD.match(field):
            raise ConfigError(source, f"sensitiveFields[{i}]", f"invalid field name {field!r}", "letters, digits, _")
    if len(set(fields)) != len(fields):
        raise ConfigError(source, "sensitiveFields", "lists a field twice")

    return Residency(zones, countries, unmapped, tuple(fields), source)


def _parse_zones(raw: object, source: str, cell_regions: frozenset[str] | None) -> dict[str, ResidencyZone]:
    if not isinstance(raw, Mapping) or not raw:
        raise ConfigError(source, "zones", "must be a non-empty mapping of zone name -> {regions: [...]}")
    zones: dict[str, ResidencyZone] = {}
    for name, body in raw.items():
        key = f"zones.{name}"
        if not isinstance(name, str) or not _ZONE_NAME.match(name):
            raise ConfigError(source, key, "invalid zone name", "lower-case letters and digits, starting with a letter, at most 15")
        regions = body.get("regions") if isinstance(body, Mapping) else None
        if not isinstance(regions, list) or not regions:
            raise ConfigError(source, f"{key}.regions", "must be a non-empty list of regions", EU_REGIONS)
        for i, region in enumerate(regions):
            rkey = f"{key}.regions[{i}]"
            if region not in AWS_REGIONS:
                raise ConfigError(source, rkey, f"unknown region {region!r}", EU_REGIONS)
            if region not in EU_REGIONS:
                raise ConfigError(source, rkey, f"{region} is not an EU region", EU_REGIONS)
            if cell_regions is not None and region not in cell_regions:
                raise ConfigError(
                    source, rkey, f"{region} has no cell stack (add Pulumi.{region}.yaml with appx:role: cell)", cell_regions
                )
        if len(set(regions)) != len(regions):
            raise ConfigError(source, f"{key}.regions", "lists a region twice")
        zones[name] = ResidencyZone(name, tuple(regions))
    return zones


def _parse_countries(raw: object, source: str, zones: Mapping[str, ResidencyZone]) -> dict[str, str]:
    if not isinstance(raw, Mapping) or not raw:
        raise ConfigError(source, "countries", "must be a non-empty mapping of ISO country code -> zone")
    countries: dict[str, str] = {}
    for country, zone in raw.items():
        if not isinstance(country, str) or not _COUNTRY.match(country):
            hint = " (quote it: YAML reads a bare NO as false)" if isinstance(country, bool) else ""
            raise ConfigError(source, f"countries.{country}", f"not an ISO 3166-1 alpha-2 code{hint}", "two upper-case letters")
        if zone not in zones:
            raise ConfigError(source, f"countries.{country}", f"unknown zone {zone!r}", zones)
        countries[country] = zone
    return countries
