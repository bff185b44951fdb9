"""Project and stack configuration, parsed once into typed, validated objects.

Every error is a `ConfigError` naming the file (`Pulumi.<stack>.yaml`, `Pulumi.yaml` or
`residency.yaml`), the key and the allowed values. Nothing here imports Pulumi: the program
hands in the raw values it read through `pulumi.Config`, tools hand in what they read from disk.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from components.errors import ConfigError
from components.regions import AWS_REGIONS, EU_REGIONS
from components.residency import RESIDENCY_FILE, Residency, ResidencyZone, load_residency
from components.yaml_source import read_yaml

PROJECT = "appx"
ROLES = ("cell", "global")
# CloudWatch Logs accepts only these retention periods (days).
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365)
PRICE_CLASSES = ("PriceClass_100", "PriceClass_200", "PriceClass_All")
_DOMAIN = re.compile(r"^(?=.{4,200}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
_ZONE_ID = re.compile(r"^Z[A-Z0-9]{4,32}$")
# A browser origin as the API compares it (APPX_CORS_ORIGINS): scheme, lower-case host, port.
_ORIGIN = re.compile(r"^https://[a-z0-9.-]+(:[0-9]{1,5})?$")


@dataclass(frozen=True)
class FunctionConcurrency:
    api: int
    worker: int
    stream: int


# SQS's longest retention. Dead-letter queues keep messages this long: a standard queue's DLQ
# keeps each message's original enqueue time, so it must retain longer than its source queue.
DEAD_LETTER_RETENTION_SECONDS = 1_209_600
# Lambda's bounds for an SQS event source mapping's scaling_config.maximum_concurrency.
SQS_MAPPING_CONCURRENCY = (2, 1000)
# How often a stream mapping retries a failing batch before sending it to its on-failure
# destination (the local runtime retries as often).
STREAM_MAX_RETRY_ATTEMPTS = 5


@dataclass(frozen=True)
class ApiThrottle:
    burst_limit: int
    rate_limit: int


@dataclass(frozen=True)
class CellSettings:
    pitr_recovery_period_days: int
    log_retention_days: int
    queue_message_retention_seconds: int
    max_receive_count: int
    reserved_concurrency: FunctionConcurrency
    api_throttle: ApiThrottle
    # The worker's SQS mapping polls with at most this many concurrent invocations: SQS mappings
    # ignore reserved concurrency, and throttled deliveries would count towards maxReceiveCount.
    worker_max_concurrency: int
    cors_origins: tuple[str, ...] = ()


@dataclass(frozen=True)
class EdgeSettings:
    health_check_failure_threshold: int
    waf_rate_limit_per_5min: int
    price_class: str
    log_retention_days: int


@dataclass(frozen=True)
class StackFile:
    """One `Pulumi.<stack>.yaml` as found on disk."""

    name: str
    role: str
    region: str
    values: Mapping[str, object]

    @property
    def file(self) -> str:
        return f"Pulumi.{self.name}.yaml"


@dataclass(frozen=True)
class ProjectSettings:
    domain: str
    hosted_zone_id: str | None  # None: the DNS-owning cell creates the zone
    stack_org: str

    @property
    def app_host(self) -> str:
        return f"app.{self.domain}"

    @property
    def public_origin_host(self) -> str:
        return f"origin.{self.domain}"


@dataclass(frozen=True)
class Project:
    root: Path
    settings: ProjectSettings
    residency: Residency
    stacks: Mapping[str, StackFile]

    @property
    def cell_regions(self) -> list[str]:
        return sorted(s.region for s in self.stacks.values() if s.role == "cell")

    def stack_reference_name(self, stack: str) -> str:
        return f"{self.settings.stack_org}/{PROJECT}/{stack}"

    @property
    def eu_tables_home(self) -> str:
        """The cell that owns the EU-wide tables: the first one deployed."""
        return self.deploy_order()[0]

    @property
    def dns_owner(self) -> str:
        """The cell that creates the hosted zone when none is configured: the first one deployed,
        so every other cell can validate its certificate in the zone before the edge exists."""
        return self.deploy_order()[0]

    def host_names(self, region: str) -> list[str]:
        """Every name the cell in `region` answers to (its certificate's names, the first its domain
        name): the public origin, the origin of each of its zones, its own direct name."""
        domain = self.settings.domain
        return [self.settings.public_origin_host, *(z.origin_host(domain) for z in self.residency.zones_in(region)),
                f"{region}.cells.{domain}"]

    def validation_record_owner(self, host: str) -> str:
        """The one cell that creates the ACM DNS validation record of `host`.

        ACM gives every certificate of the account for a name the same validation CNAME, so cells
        sharing a name would each own the record (`allow_overwrite`) and destroying one would
        break the others' renewals. The first deployed cell answering the name owns it: it exists
        before any other cell's certificate waits for it and, destroyed in reverse order, outlives them."""
        return next(r for r in self.deploy_order() if r in self.cell_regions and host in self.host_names(r))

    def zone_references(self) -> dict[str, set[str]]:
        """Cell -> the zone home cells it reads through StackReference (replicas of their table
        and field key). The EU-wide tables and the hosted zone add the first deployed cell."""
        references: dict[str, set[str]] = {region: set() for region in self.cell_regions}
        for zone in self.residency.zones.values():
            for region in zone.replica_regions:
                references[region].add(zone.home_region)
        return references

    def deploy_order(self) -> list[str]:
        """Every cell after the cells it references (zone homes first, then by name), then global.

        Raises ConfigError naming the cycle when zones make cells reference each other in a loop
        (e.g. zone a homed in X replicated to Y, zone b homed in Y replicated to X): no order
        could deploy them, since each would wait for the other's outputs."""
        references = self.zone_references()
        homes = [z.home_region for z in self.residency.zones.values()]

        def preference(region: str) -> tuple:
            return (homes.index(region) if region in homes else len(homes), region)

        order: list[str] = []
        waiting = dict(references)
        while waiting:
            ready = [r for r, needs in waiting.items() if needs <= set(order)]
            if not ready:
                cycle = _cycle(waiting)
                raise ConfigError(
                    self.residency.source, "zones",
                    "cell stacks reference each other in a cycle: " + " -> ".join(cycle)
                    + " (each replicates a zone homed in the next, so none can be deployed first)",
                    "zones whose home regions are never replica regions of a zone homed in one of their own replicas",
                )
            first = min(ready, key=preference)
            order.append(first)
            del waiting[first]
        return order + [s.name for s in self.stacks.values() if s.role == "global"]


@dataclass(frozen=True)
class CellConfig:
    region: str
    settings: CellSettings
    zones: tuple[ResidencyZone, ...]
    project: Project

    @property
    def owner_regions(self) -> list[str]:
        """Other cells whose tables or keys this cell replicates (read through StackReference)."""
        owners = {z.home_region for z in self.zones} | {self.project.eu_tables_home}
        return sorted(owners - {self.region})


@dataclass(frozen=True)
class EdgeConfig:
    settings: EdgeSettings
    project: Project
    # The cells' corsOrigins (they agree): the edge function grants them on its own responses.
    cors_origins: tuple[str, ...] = ()


# --------------------------------------------------------------------------------------------
# Reading


def read_project_settings(root: Path) -> ProjectSettings:
    """Project-level config from `Pulumi.yaml` defaults (overridable per stack via `appx:<key>`)."""
    raw = _read_yaml(root / "Pulumi.yaml", "Pulumi.yaml")
    config = raw.get("config") or {}

    def default(key: str) -> object:
        entry = config.get(key)
        return entry.get("default") if isinstance(entry, Mapping) else entry

    return parse_project_settings({k: default(k) for k in ("domain", "hostedZoneId", "stackOrg")}, "Pulumi.yaml")


def parse_project_settings(values: Mapping[str, object], source: str) -> ProjectSettings:
    domain = values.get("domain")
    if not isinstance(domain, str) or not _DOMAIN.match(domain):
        raise ConfigError(source, "appx:domain", f"not a DNS name: {domain!r}", "a lower-case domain such as appx.example.eu")
    zone_id = values.get("hostedZoneId") or None
    if zone_id is not None and (not isinstance(zone_id, str) or not _ZONE_ID.match(zone_id)):
        raise ConfigError(
            source, "appx:hostedZoneId", f"not a Route 53 hosted zone id: {zone_id!r}",
            "empty (the first cell creates the zone) or Z followed by upper-case letters/digits",
        )
    org = values.get("stackOrg") or "organization"
    return ProjectSettings(domain, zone_id, str(org))


def read_stack_files(root: Path) -> dict[str, StackFile]:
    stacks: dict[str, StackFile] = {}
    for path in sorted(root.glob("Pulumi.*.yaml")):
        name = path.name[len("Pulumi.") : -len(".yaml")]
        raw = _read_yaml(path, path.name)
        values = raw.get("config") or {}
        if not isinstance(values, Mapping):
            raise ConfigError(path.name, "config", "must be a mapping of config keys")
        stacks[name] = parse_stack_file(name, values)
    return stacks


def parse_stack_file(name: str, values: Mapping[str, object]) -> StackFile:
    file = f"Pulumi.{name}.yaml"
    role = values.get("appx:role")
    if role not in ROLES:
        raise ConfigError(file, "appx:role", f"unknown role {role!r}", ROLES)
    region = values.get("aws:region")
    if region not in AWS_REGIONS:
        raise ConfigError(file, "aws:region", f"unknown region {region!r}", EU_REGIONS)
    if region not in EU_REGIONS:
        raise ConfigError(file, "aws:region", f"{region} is not an EU region", EU_REGIONS)
    if role == "cell" and name != region:
        # Stack references, origin records and the edge config find a cell by its region.
        raise ConfigError(file, "aws:region", f"a cell stack must be named after its region, got {region!r}", [name])
    return StackFile(name, role, str(region), values)


def load_project(root: Path, overrides: Mapping[str, object] | None = None, overrides_source: str = "Pulumi.yaml") -> Project:
    """Everything that is shared by all stacks: settings, residency, the stack files.

    `overrides` are the project settings as the running stack sees them (its own `appx:<key>`
    values over the `Pulumi.yaml` defaults, which are validated first), named `overrides_source`.
    """
    settings = read_project_settings(root)
    if overrides:
        merged = {"domain": settings.domain, "hostedZoneId": settings.hosted_zone_id, "stackOrg": settings.stack_org}
        merged.update({k: v for k, v in overrides.items() if v is not None})
        settings = parse_project_settings(merged, overrides_source)
    stacks = read_stack_files(root)
    cells = [s.region for s in stacks.values() if s.role == "cell"]
    residency = load_residency(root / RESIDENCY_FILE, cell_regions=cells)
    return Project(root, settings, residency, stacks)


def cell_config(project: Project, stack: StackFile) -> CellConfig:
    raw = stack.values.get("appx:cell")
    if not isinstance(raw, Mapping):
        raise ConfigError(stack.file, "appx:cell", "missing: a cell stack needs its settings block")
    reader = _Reader(stack.file, "appx:cell", raw)
    concurrency = reader.section("reservedConcurrency")
    throttle = reader.section("apiThrottle")
    reserved = FunctionConcurrency(
        api=concurrency.int("api", 1, 10_000),
        # The worker's mapping needs at least 2 concurrent invocations (Lambda's minimum).
        worker=concurrency.int("worker", SQS_MAPPING_CONCURRENCY[0], 10_000),
        stream=concurrency.int("stream", 1, 10_000),
    )
    settings = CellSettings(
        pitr_recovery_period_days=reader.int("pitrRecoveryPeriodDays", 1, 35),
        log_retention_days=reader.choice("logRetentionDays", LOG_RETENTION_DAYS),
        # SQS bounds: 60 s .. 14 days, and shorter than the DLQ's. Personal data should not
        # linger: README suggests <= 4 days.
        queue_message_retention_seconds=reader.int(
            "queueMessageRetentionSeconds", 60, DEAD_LETTER_RETENTION_SECONDS - 1,
            why=f"the DLQ keeps a message's original enqueue time and retains {DEAD_LETTER_RETENTION_SECONDS} s (SQS's maximum), so the source must retain less",
        ),
        max_receive_count=reader.int("maxReceiveCount", 1, 1000),
        reserved_concurrency=reserved,
        api_throttle=ApiThrottle(burst_limit=throttle.int("burstLimit", 1, 100_000), rate_limit=throttle.int("rateLimit", 1, 100_000)),
        worker_max_concurrency=reader.int(
            "workerMaxConcurrency", SQS_MAPPING_CONCURRENCY[0], min(reserved.worker, SQS_MAPPING_CONCURRENCY[1]),
            why="the SQS mapping must not poll more batches than the worker's reserved concurrency (reservedConcurrency.worker) can run",
        ),
        cors_origins=reader.origins("corsOrigins"),
    )
    zones = tuple(project.residency.zones_in(stack.region))
    return CellConfig(stack.region, settings, zones, project)


def edge_config(project: Project, stack: StackFile) -> EdgeConfig:
    raw = stack.values.get("appx:edge")
    if not isinstance(raw, Mapping):
        raise ConfigError(stack.file, "appx:edge", "missing: the global stack needs its settings block")
    reader = _Reader(stack.file, "appx:edge", raw)
    settings = EdgeSettings(
        # Route 53 allows 1..10 consecutive failures; interval is fixed at 10 s by the component.
        health_check_failure_threshold=reader.int("healthCheckFailureThreshold", 1, 10),
        waf_rate_limit_per_5min=reader.int("wafRateLimitPer5Min", 10, 2_000_000_000),
        price_class=reader.choice("priceClass", PRICE_CLASSES),
        log_retention_days=reader.choice("logRetentionDays", LOG_RETENTION_DAYS),
    )
    return EdgeConfig(settings, project, cells_cors_origins(project))


def parse_origins(file: str, key: str, value: object) -> tuple[str, ...]:
    """Optional list of browser origins (CORS), or ["*"] alone for any origin without credentials."""
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(file, key, f"must be a list of origins, got {value!r}", "https://host[:port] or *")
    for i, origin in enumerate(value):
        if not _ORIGIN.match(origin) and not (origin == "*" and len(value) == 1):
            raise ConfigError(file, f"{key}[{i}]", f"not an origin: {origin!r}", "https://host[:port] (lower case, no path), or * alone")
    return tuple(value)


def cells_cors_origins(project: Project) -> tuple[str, ...]:
    """The browser origins every cell grants (``appx:cell.corsOrigins``). They must agree: one
    distribution answers for all cells, and what the edge answers itself (401, 403, 413) must
    grant exactly what the API grants wherever a request lands."""
    found: dict[str, tuple[str, ...]] = {}
    for stack in sorted((s for s in project.stacks.values() if s.role == "cell"), key=lambda s: s.name):
        raw = stack.values.get("appx:cell")
        block = raw if isinstance(raw, Mapping) else {}  # a missing block is cell_config's error
        found[stack.file] = parse_origins(stack.file, "appx:cell.corsOrigins", block.get("corsOrigins", []))
    if not found:
        return ()
    (first_file, first), *others = found.items()
    for file, origins in others:
        if set(origins) != set(first):
            raise ConfigError(file, "appx:cell.corsOrigins",
                              f"lists {list(origins)} but {first_file} lists {list(first)}: one CloudFront distribution serves every cell, "
                              "so every cell stack must list the same origins", f"{list(first)}")
    return first


class _Reader:
    """Typed access to one config block; errors name the file and the dotted key."""

    def __init__(self, file: str, prefix: str, raw: Mapping[str, object]):
        self.file, self.prefix, self.raw = file, prefix, raw

    def _key(self, key: str) -> str:
        return f"{self.prefix}.{key}"

    def section(self, key: str) -> "_Reader":
        value = self.raw.get(key)
        if not isinstance(value, Mapping):
            raise ConfigError(self.file, self._key(key), "missing or not a mapping")
        return _Reader(self.file, self._key(key), value)

    def int(self, key: str, low: int, high: int, why: str = "") -> int:
        value = self.raw.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            reason = f"must be an integer in {low}..{high}, got {value!r}" + (f": {why}" if why else "")
            raise ConfigError(self.file, self._key(key), reason, f"{low}..{high}")
        return value

    def origins(self, key: str) -> tuple[str, ...]:
        return parse_origins(self.file, self._key(key), self.raw.get(key, []))

    def choice(self, key: str, allowed: tuple) -> object:
        value = self.raw.get(key)
        if value not in allowed:
            raise ConfigError(self.file, self._key(key), f"unsupported value {value!r}", [str(a) for a in allowed])
        return value


def _cycle(references: Mapping[str, set[str]]) -> list[str]:
    """One cycle of `references` (which has no node without a pending reference), closed:
    [a, b, ..., a], read as "a references b references ... a"."""
    path = [min(references)]
    while True:
        following = min(r for r in references[path[-1]] if r in references)
        if following in path:
            return path[path.index(following):] + [following]
        path.append(following)


def _read_yaml(path: Path, source: str) -> Mapping:
    raw = read_yaml(path)
    if not isinstance(raw, Mapping):
        raise ConfigError(source, "<document>", "must be a YAML mapping")
    return raw
