"""The local runtime's topology, derived from the same files as the Pulumi program.

Cell regions come from the `Pulumi.<region>.yaml` stack files, zones and countries from
`residency.yaml`, the health-check threshold from the global stack's `appx:edge` block, all
through `components.config.load_project`. Nothing here is a second, hand-written topology.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from components.config import Project, cell_config, cells_cors_origins, edge_config, load_project
from components.latency import LATENCY_FILE, LatencyModel, load_latency_model
from components.residency import ResidencyZone

ACCOUNT_ID = "123456789012"  # moto's default account
POSTS_TABLE = "appx-posts"
FEED_TABLE = "appx-feed"
IDEMPOTENCY_TABLE = "appx-idempotency"
QUEUE_NAME = "appx-deferred-writes"
DLQ_NAME = "appx-deferred-writes-dlq"
STREAM_FAILURES_NAME = "appx-stream-failures"

# Route 53 health checks: the component fixes the interval at 10 s; records have a 60 s TTL.
AWS_HEALTH_INTERVAL_S = 10.0
AWS_RECORD_TTL_S = 60.0

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
    # Route 53 latency records answer with the region closest in network latency to the
    # resolver: the capacity plan's model (latency.yaml), so both route alike.
    latency: LatencyModel | None = None
    # The cells' appx:cell.corsOrigins (they must agree): the API's APPX_CORS_ORIGINS and the
    # edge function's corsOrigins, as the Pulumi program passes them.
    cors_origins: tuple[str, ...] = ()

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
        country = (country or "").upper()
        if self.latency is None or country not in self.latency.countries:  # unknown viewer location: the deploy order
            order = self.project.deploy_order()
            return sorted(regions, key=lambda r: order.index(r) if r in order else len(order))
        return sorted(regions, key=lambda r: (self.latency.viewer_ms(country, r), r))


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
        # The zone's subject-key store: a plain table in every region of the zone, no stream, not
        # replicated: the functions copy keys between the regions (functions/appx_common/key_store.py).
        tables.append(TableSpec(subject_keys_table(zone.name), "key-material", (("pk", "HASH"),), tuple(zone.regions), False,
                                ttl_attribute="expiration", replicated=False))
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
    latency = load_latency_model(root / LATENCY_FILE, project.residency.countries)
    return Topology(project, everywhere, zones, tuple(tables), threshold, max_receive, concurrency, retention, domain, hosts, latency,
                    cells_cors_origins(project))
