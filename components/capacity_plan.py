"""The capacity plan: every region's demand on every quota that binds Application X, with all
cells up and with each cell lost (N-1), the headroom, and which quota binds first.

Load placement follows the architecture: a country's public cache misses go to the cell latency
routing picks over all cells, its personal requests to the pick among its zone's cells; the edge
function runs in the Regional Edge Cache region nearest the viewer and draws on that region's
Lambda concurrency; a replicated write consumes write units in every live replica region. A
lost region's traffic moves to the next pick; a zone with no live cell is unavailable (its
requests get the documented 503), which is how the strict single-region zone is designed.

Demand is linear in the traffic (plus the fixed 100 unreserved units), so the highest peak a
layout or a zone sustains is a ratio, not a search. Pure Python: `tools.plan` prints it, the
policy rule `cell-capacity-n-1` refuses a cell stack that fails it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import functions.appx_common.kms_usage as kms_usage
from components.capacity_profile import CAPACITY_FILE, PUBLIC_KINDS, QUOTAS_FILE, Quotas, TrafficProfile, load_profile, load_quotas
from components.config import CellSettings, Project, StackFile, cell_config, load_project
from components.errors import ConfigError
from components.latency import LATENCY_FILE, LatencyModel, load_latency_model
from components.regions import EDGE_CONTROL_REGION, EU_REGIONS
from components.residency import Residency

WRITE_KINDS = ("signup", "profileUpdate", "postCreate", "erasure")  # deferred to the queue when the breaker opens
CELL_TABLES = ("posts", "idempotency", "feed")  # in every cell
ZONE_TABLES = {"restricted": "appx-restricted-{zone}", "subjectKeys": "appx-subject-keys-{zone}"}  # in each region of the zone
SETTING = {
    "apiStageRate": "appx:cell.apiThrottle.rateLimit",
    "apiConcurrency": "appx:cell.reservedConcurrency.api",
    "workerConcurrency": "appx:cell.reservedConcurrency.worker and appx:cell.workerMaxConcurrency",
}


@dataclass(frozen=True)
class PlanInputs:
    """Everything the plan reads from the repository, validated."""

    project: Project
    profile: TrafficProfile
    quotas: Quotas
    model: LatencyModel


def load_plan_inputs(root: Path) -> PlanInputs:
    project = load_project(root)
    return PlanInputs(
        project,
        load_profile(root / CAPACITY_FILE, project.residency),
        load_quotas(root / QUOTAS_FILE),
        load_latency_model(root / LATENCY_FILE, project.residency.countries),
    )


@dataclass(frozen=True)
class CellLimits:
    """What a cell stack configures that the plan checks."""

    api_reserved: int
    worker_reserved: int
    stream_reserved: int
    api_rate_limit: int
    api_burst_limit: int
    worker_max_concurrency: int | None = None  # the SQS mapping's maximum concurrency, if set

    @classmethod
    def of(cls, settings: CellSettings, stack: StackFile) -> "CellLimits":
        c, t = settings.reserved_concurrency, settings.api_throttle
        return cls(c.api, c.worker, c.stream, t.rate_limit, t.burst_limit, _worker_max_concurrency(stack))

    @property
    def worker_capacity(self) -> int:
        """Concurrent worker invocations: SQS mappings ignore reserved concurrency, so the
        mapping's maximum concurrency caps them too."""
        return min(self.worker_reserved, self.worker_max_concurrency or self.worker_reserved)

    @property
    def reserved_total(self) -> int:
        return self.api_reserved + self.worker_reserved + self.stream_reserved


def _worker_max_concurrency(stack: StackFile) -> int | None:
    """`appx:cell.workerMaxConcurrency` (Lambda allows 2..1000 for an SQS mapping).

    NOTE: branch wt-infra-data parses this key into `CellSettings.worker_max_concurrency` and
    wires it to the mapping's `scaling_config`; once merged, read it from the settings instead."""
    value = (stack.values.get("appx:cell") or {}).get("workerMaxConcurrency")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 2 <= value <= 1000:
        raise ConfigError(stack.file, "appx:cell.workerMaxConcurrency", f"must be an integer in 2..1000, got {value!r}", "2..1000")
    return value


@dataclass(frozen=True)
class Layout:
    name: str
    cells: tuple[str, ...]
    zones: Mapping[str, tuple[str, ...]]
    limits: Mapping[str, CellLimits]
    limits_source: Mapping[str, str]  # region -> where its limits come from

    def with_limits(self, region: str, limits: CellLimits, source: str) -> "Layout":
        return Layout(self.name, self.cells, self.zones, {**self.limits, region: limits}, {**self.limits_source, region: source})


def shipped_layout(project: Project) -> Layout:
    cells = tuple(project.deploy_order()[: len(project.cell_regions)])
    limits, sources = {}, {}
    for region in cells:
        stack = project.stacks[region]
        limits[region] = CellLimits.of(cell_config(project, stack).settings, stack)
        sources[region] = stack.file
    zones = {z.name: z.regions for z in project.residency.zones.values()}
    return Layout("shipped", cells, zones, limits, sources)


def alternative_layout(project: Project, cells: Iterable[str], option: str = "--layout") -> Layout:
    """Another set of cells: multi-region zones span every cell (their current regions first),
    single-region zones stay pinned; a new cell copies the limits of the first cell deployed."""
    shipped = shipped_layout(project)
    cells = tuple(dict.fromkeys(cells))
    for region in cells:
        if region not in EU_REGIONS:
            raise ConfigError(option, region, "not an EU region a cell can run in", EU_REGIONS)
    zones = {}
    for name, regions in shipped.zones.items():
        if len(regions) == 1:
            if regions[0] not in cells:
                raise ConfigError(option, name, f"the single-region zone {name} needs its region {regions[0]}", cells)
            zones[name] = regions
        else:
            zones[name] = tuple([r for r in regions if r in cells] + [r for r in cells if r not in regions])
    template = shipped.cells[0]
    limits = {r: shipped.limits.get(r, shipped.limits[template]) for r in cells}
    sources = {r: shipped.limits_source.get(r, f"copied from {shipped.limits_source[template]}") for r in cells}
    return Layout("+".join(cells), cells, zones, limits, sources)


# --------------------------------------------------------------------------------------------
# Demand


@dataclass
class Line:
    """One region's demand on one quota or setting in one scenario."""

    region: str
    key: str
    quota: str
    capacity: float
    source: str
    fixed: float = 0.0
    by_zone: dict[str, float] = field(default_factory=dict)

    @property
    def demand(self) -> float:
        return self.fixed + sum(self.by_zone.values())

    @property
    def headroom(self) -> float:
        return self.capacity - self.demand

    @property
    def setting(self) -> str | None:
        return SETTING.get(self.key)

    def scale_limit(self, zone: str | None = None) -> float:
        """The factor by which the traffic (of `zone`, or all of it) can grow before this binds."""
        variable = self.by_zone.get(zone, 0.0) if zone else sum(self.by_zone.values())
        if variable <= 0:
            return math.inf
        others = self.demand - variable
        return max(self.capacity - others, 0.0) / variable


@dataclass
class Scenario:
    down: str | None
    lines: list[Line]
    unavailable_zones: tuple[str, ...]

    @property
    def label(self) -> str:
        return "all up" if self.down is None else f"{self.down} down"

    def binding(self, zone: str | None = None) -> Line | None:
        loaded = [line for line in self.lines if line.scale_limit(zone) < math.inf]
        return min(loaded, key=lambda line: line.scale_limit(zone)) if loaded else None


@dataclass
class Plan:
    layout: Layout
    profile: TrafficProfile
    residency: Residency
    scenarios: list[Scenario]
    regions: tuple[str, ...]

    @property
    def all_up(self) -> Scenario:
        return self.scenarios[0]

    @property
    def n_minus_1(self) -> list[Scenario]:
        return self.scenarios[1:]

    def failures(self) -> list[tuple[Scenario, Line]]:
        """N-1 lines whose headroom is negative at the profile's peak."""
        return [(s, line) for s in self.n_minus_1 for line in s.lines if line.headroom < -1e-9]

    def ceiling(self, zone: str | None = None) -> tuple[float, Scenario | None, Line | None]:
        """The highest peak (requests/s of `zone`'s countries, or of all traffic) the layout carries
        with any one cell lost, the scenario and the line that bind."""
        peak = self.profile.zone_peak(zone, self.residency) if zone else self.profile.peak_total
        best = (math.inf, None, None)
        for s in self.n_minus_1:
            line = s.binding(zone)
            if line is not None and line.scale_limit(zone) < best[0]:
                best = (line.scale_limit(zone), s, line)
        return (best[0] * peak, best[1], best[2])

    def region_binding(self, region: str) -> tuple[Scenario, Line] | None:
        """The quota of `region` that binds first under N-1 (smallest growth factor)."""
        found = [(line.scale_limit(), s, line) for s in self.n_minus_1 for line in s.lines if line.region == region]
        found = [f for f in found if f[0] < math.inf]
        if not found:
            return None
        _, s, line = min(found, key=lambda f: f[0])
        return s, line

    def required(self, region: str, key: str) -> float:
        """The largest demand on a setting of `region` over every scenario."""
        return max((line.demand for s in self.scenarios for line in s.lines if line.region == region and line.key == key), default=0.0)

    def write_units_per_second(self) -> float:
        return sum(line.demand for line in self.all_up.lines if line.key.startswith("ddbWrite:"))


def plan_for(inputs: PlanInputs, layout: Layout) -> Plan:
    return plan(layout, inputs.profile, inputs.quotas, inputs.project.residency, inputs.model)


def plan(layout: Layout, profile: TrafficProfile, quotas: Quotas, residency: Residency, model: LatencyModel) -> Plan:
    regions = tuple(dict.fromkeys([*layout.cells, *model.edge_regions]))
    scenarios = [_scenario(layout, profile, quotas, residency, model, regions, down) for down in (None, *layout.cells)]
    for scenario in scenarios[1:]:
        _add_failover_scale_up(scenario, scenarios[0], quotas)
    return Plan(layout, profile, residency, scenarios, regions)


def _add_failover_scale_up(scenario: Scenario, all_up: Scenario, quotas: Quotas) -> None:
    """The environments a surviving cell's API function must add when the lost cell's traffic
    arrives: Lambda adds at most 1,000 per function every 10 s."""
    before = {line.region: line for line in all_up.lines if line.key == "apiConcurrency"}
    for line in [l for l in scenario.lines if l.key == "apiConcurrency"]:
        grown = {z: line.by_zone.get(z, 0.0) - before[line.region].by_zone.get(z, 0.0) for z in line.by_zone}
        scenario.lines.append(Line(
            line.region, "apiScaleUp", "Lambda appx-api new environments within 10 s of a failover",
            quotas.value("lambdaScalingPer10Seconds", line.region), quotas.source("lambdaScalingPer10Seconds", line.region),
            by_zone=grown,
        ))


def _tables(layout: Layout, region: str) -> list[str]:
    zones = [name.format(zone=z) for z, regions in layout.zones.items() if region in regions for name in ZONE_TABLES.values()]
    return zones + [f"appx-{t}" for t in CELL_TABLES]


def _lines(layout: Layout, quotas: Quotas, region: str) -> dict[str, Line]:
    q = quotas.value
    lines: dict[str, Line] = {}

    def add(key: str, quota: str, capacity: float, source: str, fixed: float = 0.0) -> None:
        lines[key] = Line(region, key, quota, capacity, source, fixed)

    limits = layout.limits.get(region)
    reserved = limits.reserved_total if limits else 0
    add("unreserved", "Lambda unreserved concurrency (Lambda@Edge + the 100 kept free)",
        q("lambdaConcurrentExecutions", region) - reserved,
        f"{quotas.source('lambdaConcurrentExecutions', region)} minus reserved {reserved}",
        fixed=q("lambdaUnreservedMinimum", region))
    if limits is None:  # an edge-only region
        return lines
    source = layout.limits_source[region]
    add("kmsSymmetric", "KMS symmetric requests/s", q("kmsSymmetricPerSecond", region), quotas.source("kmsSymmetricPerSecond", region))
    add("kmsRsa", "KMS RSA requests/s", q("kmsRsaPerSecond", region), quotas.source("kmsRsaPerSecond", region))
    add("apiGatewayRps", "API Gateway requests/s (account, all APIs)", q("apiGatewayRps", region), quotas.source("apiGatewayRps", region))
    add("apiStageRate", "API stage throttle rateLimit", limits.api_rate_limit, f"{source} {SETTING['apiStageRate']}")
    add("apiConcurrency", "Lambda appx-api reserved concurrency", limits.api_reserved, f"{source} {SETTING['apiConcurrency']}")
    add("workerConcurrency", "Lambda appx-worker concurrency (drains deferred writes)", limits.worker_capacity,
        f"{source} {SETTING['workerConcurrency']}")
    for table in _tables(layout, region):
        add(f"ddbRead:{table}", f"DynamoDB {table} read units/s", q("dynamodbTableReadUnits", region), quotas.source("dynamodbTableReadUnits", region))
        add(f"ddbWrite:{table}", f"DynamoDB {table} write units/s", q("dynamodbTableWriteUnits", region), quotas.source("dynamodbTableWriteUnits", region))
    return lines


def _read_units(size: int, strong: bool) -> float:
    return math.ceil(size / 4096) * (1.0 if strong else 0.5)


def _write_units(size: int) -> float:
    return float(math.ceil(size / 1024))


def table_access(kind: str, items: Mapping[str, int]) -> list[tuple[str, str, float, float]]:
    """(table, where, read units, write units) per request of `kind`, as functions/appx_common/store.py,
    key_store.py and idempotency.py access DynamoDB. `where` is `serving` (the serving cell) or
    `replicas` (every live replica: the zone's regions for `restricted` and for `subjectKeys`, whose
    copies the functions write themselves; every cell otherwise; the feed is projected by each cell's
    stream function). Transactional writes and condition checks cost double."""
    auth = ("restricted", "serving", _read_units(items["profile"] + items["token"], True), 0.0)  # query PROFILE + SESSION#
    key = ("subjectKeys", "serving", _read_units(items["subjectKey"], True), 0.0)  # consistent GetItem on every use
    idem = ("idempotency", "replicas", 0.0, 2 * _write_units(items["idempotencyRecord"]))  # claim, then complete
    posts_of_author = items["postsPerAuthor"] * items["post"]
    return {
        "feed": [("feed", "serving", _read_units(items["feedPageItems"] * items["feedEntry"], False), 0.0)],
        "postRead": [("posts", "serving", _read_units(items["post"], False), 0.0)],
        "signup": [idem, ("subjectKeys", "replicas", 0.0, _write_units(items["subjectKey"])),  # a copy in every region of the zone
                   ("restricted", "replicas", 0.0, 2 * (_write_units(items["profile"]) + _write_units(items["token"])))],
        "profileRead": [auth, key],
        "profileUpdate": [auth, key, idem, ("restricted", "replicas", 0.0, _write_units(items["profile"]))],
        "postCreate": [
            auth, key, idem,
            ("restricted", "serving", 0.0, 2 * _write_units(items["profile"])),  # the transaction's check on the profile
            ("posts", "serving", 0.0, _write_units(items["post"])),  # the transactional put's second unit
            ("posts", "replicas", _read_units(items["post"], False), _write_units(items["post"])),  # stream: erased-author check
            ("feed", "replicas", 0.0, _write_units(items["feedEntry"])),
        ],
        "export": [auth, key, ("posts", "serving", _read_units(posts_of_author, False), 0.0)],
        "erasure": [
            auth,
            # the shred marker over every copy (twice: the request, then the job) and the job's check of every copy
            ("subjectKeys", "replicas", _read_units(items["subjectKey"], True), 2 * _write_units(items["subjectKey"])),
            ("restricted", "replicas", 0.0, _write_units(items["profile"]) + _write_units(items["token"])),
            ("posts", "serving", _read_units(posts_of_author, False), 0.0),
            ("posts", "replicas", 0.0, items["postsPerAuthor"] * _write_units(items["post"]) + 1),  # deletes + erased marker
            ("feed", "replicas", 0.0, items["postsPerAuthor"] * _write_units(items["feedEntry"])),
        ],
    }[kind]


def _scenario(layout, profile, quotas, residency, model, regions, down) -> Scenario:
    live_cells = [c for c in layout.cells if c != down]
    live_edges = [e for e in model.edge_regions if e != down] or live_cells
    lines = {(r, k): line for r in regions if r != down for k, line in _lines(layout, quotas, r).items()}
    lines[("global", "cloudfront")] = Line("global", "cloudfront", "CloudFront requests/s (distribution)",
                                           quotas.value("cloudfrontRpsPerDistribution", EDGE_CONTROL_REGION),
                                           quotas.source("cloudfrontRpsPerDistribution", EDGE_CONTROL_REGION))
    unavailable: set[str] = set()
    api_s, edge_s, worker_s = (profile.duration_ms[k] / 1000 for k in ("api", "edge", "worker"))

    def add(region: str, key: str, zone: str, amount: float) -> None:
        line = lines[(region, key)]
        line.by_zone[zone] = line.by_zone.get(zone, 0.0) + amount

    def serve(kind: str, rate: float, zone: str, cell: str) -> None:
        ops = kms_usage.KMS_OPS_PER_REQUEST[kind]
        for key, amount in (("apiGatewayRps", rate), ("apiStageRate", rate), ("apiConcurrency", rate * api_s),
                            ("kmsRsa", rate * ops.rsa), ("kmsSymmetric", rate * ops.symmetric)):
            add(cell, key, zone, amount)
        if kind in WRITE_KINDS:
            add(cell, "workerConcurrency", zone, rate * worker_s)
        zone_regions = [r for r in layout.zones[zone] if r != down]
        for table, where, reads, writes in table_access(kind, profile.item_bytes):
            name = ZONE_TABLES[table].format(zone=zone) if table in ZONE_TABLES else f"appx-{table}"
            targets = [cell] if where == "serving" else (zone_regions if table in ZONE_TABLES else live_cells)
            for region in targets:
                if reads:
                    add(region, f"ddbRead:{name}", zone, rate * reads)
                if writes:
                    add(region, f"ddbWrite:{name}", zone, rate * writes)

    # (zone, weight per candidate picker): a country picks by latency, a zone entry spreads evenly.
    sources = [(residency.zone_for_country(c).name, rate, lambda cands, c=c: {model.pick(c, cands): 1.0} if cands else {})
               for c, rate in profile.peak_by_country.items()]
    sources += [(z, rate, lambda cands: {r: 1 / len(cands) for r in cands}) for z, rate in profile.peak_by_zone.items()]
    for zone, peak, spread in sources:
        zone_cells = [r for r in layout.zones[zone] if r != down]
        add("global", "cloudfront", zone, peak)
        for kind, share in profile.route_mix.items():
            rate = peak * share
            if kind in PUBLIC_KINDS:
                for cell, weight in spread(live_cells).items():
                    serve(kind, rate * (1 - profile.public_cache_hit_ratio) * weight, zone, cell)
                continue
            for edge, weight in spread(live_edges).items():
                add(edge, "unreserved", zone, rate * weight * edge_s)
            if not zone_cells:
                unavailable.add(zone)
                continue
            for cell, weight in spread(zone_cells).items():
                serve(kind, rate * weight, zone, cell)
    return Scenario(down, list(lines.values()), tuple(sorted(unavailable)))
