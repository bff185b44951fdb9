"""The local runtime's topology, derived from the same files as the Pulumi program.

Cell regions come from the `Pulumi.<region>.yaml` stack files, zones and countries from
`residency.yaml`, the health-check threshold from the global stack's `appx:edge` block, all
through `components.config.load_project`. Nothing here is a second, hand-written topology.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from components.config import Project, cell_config, edge_config, load_project
from components.residency import ResidencyZone

ACCOUNT_ID = "123456789012"  # moto's default account
POSTS_TABLE = "appx-posts"
FEED_TABLE = "appx-feed"
IDEMPOTENCY_TABLE = "appx-idempotency"
QUEUE_NAME = "appx-deferred-writes"
DLQ_NAME = "appx-deferred-writes-dlq"

# Route 53 health checks: the component fixes the interval at 10 s; records have a 60 s TTL.
AWS_HEALTH_INTERVAL_S = 10.0
AWS_RECORD_TTL_S = 60.0

# Geography for the latency model (Route 53 latency records answer with the region closest in
# network latency to the resolver; locally we approximate that by great-circle distance from
# the viewer's country to the region's city). Public facts, not topology.
REGION_COORDS = {
    "eu-west-1": (53.35, -6.26),  # Dublin
    "eu-west-3": (48.86, 2.35),  # Paris
    "eu-central-1": (50.11, 8.68),  # Frankfurt
    "eu-north-1": (59.33, 18.07),  # Stockholm
    "eu-south-1": (45.46, 9.19),  # Milan
    "eu-south-2": (41.65, -0.88),  # Zaragoza (Aragón)
}
COUNTRY_COORDS = {
    "AT": (48.2, 16.4), "BE": (50.8, 4.4), "BG": (42.7, 23.3), "CY": (35.2, 33.4), "CZ": (50.1, 14.4),
    "DE": (52.5, 13.4), "DK": (55.7, 12.6), "EE": (59.4, 24.7), "ES": (40.4, -3.7), "FI": (60.2, 24.9),
    "FR": (48.9, 2.4), "GR": (38.0, 23.7), "HR": (45.8, 16.0), "HU": (47.5, 19.0), "IE": (53.3, -6.3),
    "IT": (41.9, 12.5), "LT": (54.7, 25.3), "LU": (49.6, 6.1), "LV": (56.9, 24.1), "MT": (35.9, 14.5),
    "NL": (52.4, 4.9), "PL": (52.2, 21.0), "PT": (38.7, -9.1), "RO": (44.4, 26.1), "SE": (59.3, 18.1),
    "SI": (46.1, 14.5), "SK": (48.1, 17.1), "IS": (64.1, -21.9), "LI": (47.1, 9.5), "NO": (59.9, 10.8),
    "CH": (46.9, 7.4), "GB": (51.5, -0.1),
}


def distance_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 6371.0 * 2 * math.asin(math.sqrt(h))


@dataclass(frozen=True)
class TableSpec:
    name: str
    data_class: str
    keys: tuple[tuple[str, str], ...]  # (attribute, HASH|RANGE)
    replicas: tuple[str, ...]  # regions holding the table (a replica of it when `replicated`)
    stream_to_function: bool  # the stream function is triggered by this table
    ttl_attribute: str | None = None
    gsis: tuple[dict, ...] = ()
    replicated: bool = True  # a global table; False: an independent table per region


@dataclass(frozen=True)
class Topology:
    project: Project
    cell_regions: tuple[str, ...]
    zones: dict[str, ResidencyZone]
    tables: tuple[TableSpec, ...]
    health_check_failure_threshold: int
    max_receive_count: dict[str, int]
    reserved_concurrency: dict[str, int]
    queue_retention_s: dict[str, int]
    domain: str = ""
    origin_hosts: dict[str, tuple[str, ...]] = field(default_factory=dict)  # host -> record regions

    def tables_in(self, region: str) -> list[TableSpec]:
        return [t for t in self.tables if region in t.replicas]

    def table(self, name: str) -> TableSpec:
        return next(t for t in self.tables if t.name == name)

    def zones_in(self, region: str) -> list[ResidencyZone]:
        return [z for z in self.zones.values() if region in z.regions]

    @property
    def public_origin_host(self) -> str:
        return self.project.settings.public_origin_host

    def latency_order(self, country: str | None, regions) -> list[str]:
        """Regions ordered as Route 53 latency records would rank them for this viewer."""
        here = COUNTRY_COORDS.get((country or "").upper())
        if here is None:  # unknown viewer location: the deploy order
            order = self.project.deploy_order()
            return sorted(regions, key=lambda r: order.index(r) if r in order else len(order))
        return sorted(regions, key=lambda r: (distance_km(here, REGION_COORDS.get(r, here)), r))


def restricted_table(zone: str) -> str:
    return f"appx-restricted-{zone}"


def subject_keys_table(zone: str) -> str:
    return f"appx-subject-keys-{zone}"


def load_topology(root: Path) -> Topology:
    project = load_project(root)
    cells = tuple(project.cell_regions)
    order = [r for r in project.deploy_order() if r in cells]
    zones = dict(project.residency.zones)
    tables: list[TableSpec] = []
    for zone in zones.values():
        tables.append(
            TableSpec(restricted_table(zone.name), "restricted", (("pk", "HASH"), ("sk", "RANGE")), tuple(zone.regions), True,
                      ttl_attribute="expiration")
        )
        # The zone's subject-key store: replicated inside the zone only (no PITR in AWS either).
        tables.append(TableSpec(subject_keys_table(zone.name), "key-material", (("pk", "HASH"),), tuple(zone.regions), False))
    everywhere = tuple(order)
    tables.append(
        TableSpec(
            POSTS_TABLE, "personal", (("pk", "HASH"), ("sk", "RANGE")), everywhere, True, ttl_attribute="expiration",
            gsis=({"IndexName": "byAuthor", "KeySchema": [{"AttributeName": "authorId", "KeyType": "HASH"},
                                                           {"AttributeName": "createdAt", "KeyType": "RANGE"}],
                   "Projection": {"ProjectionType": "ALL"}},),
        )
    )
    # The feed is a regional projection (docs/runtime-contract.md): in every cell, not replicated.
    tables.append(TableSpec(FEED_TABLE, "public", (("pk", "HASH"), ("sk", "RANGE")), everywhere, False, replicated=False))
    tables.append(TableSpec(
        IDEMPOTENCY_TABLE, "personal", (("id", "HASH"),), everywhere, False, ttl_attribute="expiration",
        gsis=({"IndexName": "bySubject", "KeySchema": [{"AttributeName": "subject", "KeyType": "HASH"},
                                                        {"AttributeName": "id", "KeyType": "RANGE"}],
               "Projection": {"ProjectionType": "ALL"}},),
    ))

    global_stacks = [s for s in project.stacks.values() if s.role == "global"]
    threshold = edge_config(project, global_stacks[0]).settings.health_check_failure_threshold if global_stacks else 3
    max_receive, retention, concurrency = {}, {}, {}
    for stack in project.stacks.values():
        if stack.role == "cell":
            cfg = cell_config(project, stack)
            max_receive[stack.region] = cfg.settings.max_receive_count
            retention[stack.region] = cfg.settings.queue_message_retention_seconds
            concurrency[stack.region] = cfg.settings.reserved_concurrency.api
    domain = project.settings.domain
    hosts = {project.settings.public_origin_host: everywhere}
    for zone in zones.values():
        hosts[zone.origin_host(domain)] = tuple(zone.regions)
    return Topology(project, everywhere, zones, tuple(tables), threshold, max_receive, concurrency, retention, domain, hosts)
