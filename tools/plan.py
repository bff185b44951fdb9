"""Capacity and latency plan with N-1 headroom, from capacity.yaml, quotas.yaml and latency.yaml.

    python -m tools.plan                      # the shipped layout: demand, headroom, binding quotas, latency
    python -m tools.plan --layout eu-west-1,eu-central-1,eu-west-3,eu-north-1,eu-south-1,eu-south-2
    python -m tools.plan --json
    python -m tools.plan --write              # regenerate docs/capacity.md
    python -m tools.plan --check              # exit 1 if docs/capacity.md is stale

Exit 1 when any quota or setting has negative headroom with one cell lost at the profile's
peak (the strict single-region zone being unavailable under its own region's loss is by
design and not a failure); exit 2 on a configuration error (file, key and allowed values).
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from components.capacity_plan import Plan, PlanInputs, alternative_layout, load_plan_inputs, plan_for, shipped_layout  # noqa: E402
from components.errors import ConfigError  # noqa: E402
from components.latency import LatencyModel  # noqa: E402

DOC = ROOT / "docs" / "capacity.md"
# The layout docs/capacity.md compares with the shipped one: every EU region a cell can run in.
ALL_EU_LAYOUT = ("eu-west-1", "eu-central-1", "eu-west-3", "eu-north-1", "eu-south-1", "eu-south-2")
# Route 53 hosted zone + WAF web ACL with its four rules (rate limit, body size, AWS common rule set, known bad inputs).
GLOBAL_ITEMS = {"hostedZone": 1, "webAcl": 1, "webAclRule": 4}
ALARMS_PER_CELL = 7  # DLQ depth, stream on-failure queue depth, erasure job age, API 5xx, throttles of api, worker, stream; plus one per replication path


def make_plan(inputs: PlanInputs, cells: list[str] | None = None) -> Plan:
    layout = alternative_layout(inputs.project, cells) if cells else shipped_layout(inputs.project)
    return plan_for(inputs, layout)


# --------------------------------------------------------------------------------------------
# Latency


def latency_rows(p: Plan, model: LatencyModel) -> list[dict]:
    """Per whitelisted country: the cell its personal requests go to, all up and with that cell
    lost, the round trips, and the nearest cell of the layout (the strict zone's cost)."""
    rows = []
    for country, zone in sorted(p.residency.countries.items()):
        cells = p.layout.zones[zone]
        pick = model.pick(country, cells)
        fallback = model.pick(country, [c for c in cells if c != pick])
        nearest = model.pick(country, p.layout.cells)
        rows.append({
            "country": country, "zone": zone, "cell": pick, "rttMs": round(model.viewer_ms(country, pick), 1),
            "n1Cell": fallback, "n1RttMs": round(model.viewer_ms(country, fallback), 1) if fallback else None,
            "nearestCell": nearest, "nearestRttMs": round(model.viewer_ms(country, nearest), 1),
            "nearestN1Cell": model.pick(country, [c for c in p.layout.cells if c != pick]),
        })
    for row in rows:
        row["nearestN1RttMs"] = round(model.viewer_ms(row["country"], row["nearestN1Cell"]), 1) if row["nearestN1Cell"] else None
    return rows


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)]


# --------------------------------------------------------------------------------------------
# Summary of one layout


def fixed_cost_items(p: Plan, prices: dict) -> dict[str, tuple[int, float]]:
    cells = p.layout.cells
    zone_regions = [r for regions in p.layout.zones.values() for r in regions]
    # a replication-latency alarm per replicated table (a zone's restricted table, the EU-wide posts
    # and idempotency; key stores are not replicated) per cell per other replica region
    replication_paths = sum(len(r) * (len(r) - 1) for r in p.layout.zones.values()) + 2 * len(cells) * (len(cells) - 1)
    counts = {
        # a data key per cell; per zone region its field, subject-key wrapping and subject-reference
        # keys (or replicas); an edge-log key per edge region without a cell
        "kmsKey": len(cells) + 3 * len(zone_regions) + len(set(p.residency.edge_regions) - set(cells)),
        "healthCheck": len(cells),
        "alarm": ALARMS_PER_CELL * len(cells) + replication_paths,
        **GLOBAL_ITEMS,
    }
    return {item: (n, n * prices[item]) for item, n in counts.items()}


def summary(p: Plan, model: LatencyModel) -> dict:
    ceiling, scenario, line = p.ceiling()
    rows = latency_rows(p, model)
    rtts = [r["rttMs"] for r in rows]
    n1 = [r["n1RttMs"] for r in rows if r["n1RttMs"] is not None]
    costs = fixed_cost_items(p, dict(p.profile.monthly_prices_usd))
    worst = min(((s, l) for s in p.n_minus_1 for l in s.lines if l.capacity > 0), key=lambda sl: sl[1].headroom / sl[1].capacity)
    return {
        "layout": p.layout.name,
        "cells": list(p.layout.cells),
        "zones": {z: list(r) for z, r in p.layout.zones.items()},
        "peakRequestsPerSecond": round(p.profile.peak_total),
        "ceilingN1": _ceiling_doc(ceiling, scenario, line),
        "zoneCeilingsN1": {z: _zone_doc(p, z) for z in p.layout.zones},
        "tightestN1": {"scenario": worst[0].label, "region": worst[1].region, "quota": worst[1].quota,
                       "demand": round(worst[1].demand, 1), "capacity": worst[1].capacity,
                       "headroomPercent": round(100 * worst[1].headroom / worst[1].capacity, 1)},
        "passesN1": not p.failures(),
        "rttMs": {"median": round(statistics.median(rtts), 1), "p90": percentile(rtts, 0.9), "max": max(rtts),
                  "n1Max": max(n1) if n1 else None},
        "writeUnitsPerSecond": round(p.write_units_per_second()),
        "strictZoneCost": _strict_zone_cost(p, rows),
        "regionsPerWrite": _regions_per_write(p),
        "fixedMonthlyUsd": {item: {"count": n, "usd": round(usd, 2)} for item, (n, usd) in costs.items()},
        "fixedMonthlyUsdTotal": round(sum(usd for _, usd in costs.values()), 2),
    }


def _strict_zone_cost(p: Plan, rows: list[dict]) -> dict[str, dict]:
    """Per single-region zone: its users' round trip pinned to the zone's region vs to their nearest
    cell, all up and with that region lost (pinned: no cell at all)."""
    out = {}
    for zone, regions in p.layout.zones.items():
        mine = [r for r in rows if r["zone"] == zone]
        if len(regions) == 1 and mine:
            out[zone] = {"region": regions[0], "countries": [r["country"] for r in mine],
                         "pinnedRttMs": max(r["rttMs"] for r in mine), "nearestRttMs": max(r["nearestRttMs"] for r in mine),
                         "nearestN1RttMs": max(r["nearestN1RttMs"] for r in mine)}
    return out


def _regions_per_write(p: Plan) -> dict[str, int]:
    """Regions a write lands in (each consumes write units there)."""
    out = {f"restricted ({z})": len(r) for z, r in p.layout.zones.items()}
    out["posts, idempotency, feed"] = len(p.layout.cells)
    return out


def _ceiling_doc(value, scenario, line) -> dict:
    if scenario is None:
        return {"requestsPerSecond": None, "scenario": None, "region": None, "quota": None}
    return {"requestsPerSecond": round(value), "scenario": scenario.label, "region": line.region, "quota": line.quota}


def _zone_doc(p: Plan, zone: str) -> dict:
    doc = _ceiling_doc(*p.ceiling(zone))
    doc["peak"] = round(p.profile.zone_peak(zone, p.residency))
    doc["unavailableWhen"] = [s.label for s in p.n_minus_1 if zone in s.unavailable_zones]
    return doc


def plan_document(p: Plan, model: LatencyModel) -> dict:
    return {
        **summary(p, model),
        "scenarios": [
            {"scenario": s.label, "unavailableZones": list(s.unavailable_zones), "lines": [
                {"region": l.region, "quota": l.quota, "key": l.key, "demand": round(l.demand, 2), "capacity": l.capacity,
                 "headroom": round(l.headroom, 2), "source": l.source, **({"setting": l.setting} if l.setting else {})}
                for l in s.lines]}
            for s in p.scenarios
        ],
        "bindingPerRegion": {r: _binding_doc(p, r) for r in p.regions},
        "requiredSettings": {r: {l: math.ceil(p.required(r, k)) for k, l in _SETTING_NAMES.items()} for r in p.layout.cells},
        "latency": latency_rows(p, model),
        "failures": [f"{s.label}: {l.region} {l.quota}: demand {l.demand:.0f} > {l.capacity:g}" for s, l in p.failures()],
    }


_SETTING_NAMES = {"apiStageRate": "apiThrottle.rateLimit", "apiConcurrency": "reservedConcurrency.api",
                  "workerConcurrency": "reservedConcurrency.worker"}


def _binding_doc(p: Plan, region: str) -> dict | None:
    found = p.region_binding(region)
    if not found:
        return None
    s, l = found
    return {"scenario": s.label, "quota": l.quota, "demand": round(l.demand, 1), "capacity": l.capacity,
            "headroom": round(l.headroom, 1), "growthFactor": round(l.scale_limit(), 2)}


# --------------------------------------------------------------------------------------------
# Rendering


def render_text(doc: dict) -> str:
    out = [f"Layout {doc['layout']}: cells {', '.join(doc['cells'])}; profile peak {doc['peakRequestsPerSecond']} requests/s",
           f"N-1: {'PASS' if doc['passesN1'] else 'FAIL'}"]
    for f in doc["failures"]:
        out.append(f"  negative headroom: {f}")
    for s in doc["scenarios"]:
        out.append(f"\n## {s['scenario']}" + (f" (unavailable by design: zone {', '.join(s['unavailableZones'])})" if s["unavailableZones"] else ""))
        out.append(f"  {'region':<13} {'quota':<66} {'demand':>10} {'capacity':>10} {'headroom':>10}")
        for l in s["lines"]:
            if l["demand"] or l.get("setting"):
                out.append(f"  {l['region']:<13} {l['quota']:<66} {l['demand']:>10.1f} {l['capacity']:>10g} {l['headroom']:>10.1f}")
    out.append("\n## Binds first under N-1, per region")
    for region, b in doc["bindingPerRegion"].items():
        if b:
            out.append(f"  {region:<13} {b['quota']} ({b['scenario']}): {b['demand']:g} of {b['capacity']:g}, traffic can grow x{b['growthFactor']}")
    out.append("\n## Highest peak with one region lost")
    c = doc["ceilingN1"]
    out.append(f"  all traffic: {c['requestsPerSecond']} requests/s (binds: {c['region']} {c['quota']}, {c['scenario']})")
    for zone, z in doc["zoneCeilingsN1"].items():
        note = f"; unavailable when {', '.join(z['unavailableWhen'])} (by design)" if z["unavailableWhen"] else ""
        out.append(f"  zone {zone}: {z['requestsPerSecond']} requests/s of its countries (profile {z['peak']}; binds: {z['region']} {z['quota']}, {z['scenario']}){note}")
    out.append("\n## Settings the profile needs (largest demand over every scenario)")
    for region, settings in doc["requiredSettings"].items():
        out.append(f"  {region:<13} " + ", ".join(f"{k} >= {v}" for k, v in settings.items()))
    out.append("\n## Latency per country (personal routes)")
    out.append(f"  {'':<3} {'zone':<5} {'cell':<13} {'ms':>6}   {'cell lost ->':<13} {'ms':>6}   {'nearest cell':<13} {'ms':>6}")
    for r in doc["latency"]:
        n1 = f"{r['n1Cell']:<13} {r['n1RttMs']:>6}" if r["n1Cell"] else f"{'unavailable':<13} {'-':>6}"
        out.append(f"  {r['country']:<3} {r['zone']:<5} {r['cell']:<13} {r['rttMs']:>6}   {n1}   {r['nearestCell']:<13} {r['nearestRttMs']:>6}")
    rtt = doc["rttMs"]
    out.append(f"  median {rtt['median']} ms, p90 {rtt['p90']} ms, max {rtt['max']} ms; max with the picked cell lost {rtt['n1Max']} ms")
    return "\n".join(out)


def render_markdown(inputs: PlanInputs, docs: list[dict], model: LatencyModel) -> str:
    shipped = docs[0]
    lines = [
        "# Capacity and latency plan",
        "",
        "Generated by `python -m tools.plan --write` from [`capacity.yaml`](../capacity.yaml) (traffic profile),",
        "[`quotas.yaml`](../quotas.yaml) (AWS's regional default quotas, with sources) and",
        "[`latency.yaml`](../latency.yaml) (latency model); `python -m tools.plan --check` fails when this file is stale.",
        "Do not edit by hand. The model and its assumptions are in `components/capacity_plan.py` and `components/latency.py`.",
        "",
        f"Latency model: measured inter-region round trips as the backbone, plus "
        f"{model.fit.intercept_ms:.1f} ms + {model.fit.ms_per_1000km:.1f} ms per 1,000 km great-circle (fitted on them).",
        "",
        "How load is placed (the assumptions, so you can disagree with them):",
        "",
        "* A country's public cache misses go to the cell latency routing picks over all cells; its personal",
        "  requests to the pick among its zone's cells; a lost cell's traffic moves to the next pick. A zone with",
        "  no live cell is unavailable (the documented 503): the strict zone `de` under the loss of eu-central-1.",
        "* Lambda@Edge runs in the Regional Edge Cache region nearest the viewer (`edgeExecutionRegions` of",
        "  `latency.yaml`) and draws on that region's unreserved concurrency, next to the 100 units AWS keeps free.",
        "* KMS operations per request come from `functions/appx_common/kms_usage.py` (cold data-key cache).",
        "* DynamoDB units follow `functions/appx_common/store.py` with `itemSizesBytes`; a replicated write is",
        "  counted in every live replica region, the feed projection in every cell.",
        "* Concurrency = rate x `functionDurationMs`; the worker must drain deferred writes as fast as a cell",
        "  takes writes (breaker open). New cells of a `--layout` copy the first cell's settings.",
        "",
        "## Layouts side by side",
        "",
        "| | " + " | ".join(f"`{d['layout']}`" for d in docs) + " |",
        "|---|" + "---|" * len(docs),
    ]

    def row(label, fn):
        lines.append(f"| {label} | " + " | ".join(fn(d) for d in docs) + " |")

    row("cells", lambda d: ", ".join(d["cells"]))
    row("profile peak (requests/s)", lambda d: str(d["peakRequestsPerSecond"]))
    row("passes N-1 at the profile's peak", lambda d: "yes" if d["passesN1"] else "**no**")
    row("capacity ceiling with one region lost (requests/s)", lambda d: f"{d['ceilingN1']['requestsPerSecond']} ({d['ceilingN1']['region']} {d['ceilingN1']['quota']}, {d['ceilingN1']['scenario']})")
    for zone in inputs.project.residency.zones:
        row(f"zone `{zone}` ceiling, N-1 (requests/s of its countries)",
            lambda d, z=zone: f"{d['zoneCeilingsN1'][z]['requestsPerSecond']}" + (f"; unavailable when {', '.join(d['zoneCeilingsN1'][z]['unavailableWhen'])} (by design)" if d["zoneCeilingsN1"][z]["unavailableWhen"] else ""))
    row("tightest N-1 headroom", lambda d: f"{d['tightestN1']['headroomPercent']} % ({d['tightestN1']['region']} {d['tightestN1']['quota']}, {d['tightestN1']['scenario']})")
    row("country RTT median / p90 / max (ms)", lambda d: f"{d['rttMs']['median']} / {d['rttMs']['p90']} / {d['rttMs']['max']}")
    row("country RTT max with its cell lost (ms)", lambda d: str(d["rttMs"]["n1Max"]))
    for zone in (z for z, r in inputs.project.residency.zones.items() if len(r.regions) == 1):
        row(f"strict zone `{zone}`: pinned vs nearest cell, RTT ms (all up; its region lost)",
            lambda d, z=zone: _strict_cost_text(d["strictZoneCost"][z]))
    row("replicated writes: regions per write", lambda d: "; ".join(f"{k}: {v}" for k, v in d["regionsPerWrite"].items()))
    row("write units/s at the peak, all regions", lambda d: str(d["writeUnitsPerSecond"]))
    row("fixed monthly items (USD, list prices)", lambda d: ", ".join(f"{k} {v['count']}× = {v['usd']:g}" for k, v in d["fixedMonthlyUsd"].items()) + f"; **{d['fixedMonthlyUsdTotal']:g}**")
    lines += ["", "## Shipped layout: what binds first with one region lost", "",
              "| region | quota | scenario | demand | capacity | traffic can grow |", "|---|---|---|---|---|---|"]
    for region, b in shipped["bindingPerRegion"].items():
        if b:
            lines.append(f"| {region} | {b['quota']} | {b['scenario']} | {b['demand']:g} | {b['capacity']:g} | ×{b['growthFactor']} |")
    lines += ["", "## Shipped layout: latency per country (personal routes)", "",
              "The strict zone's cost: a `de` user is pinned to eu-central-1 and has no cell when it is lost;",
              "`nearest cell` is where latency routing over every cell would send them.", "",
              "| country | zone | cell | RTT ms | its cell lost → | RTT ms | nearest cell | RTT ms | nearest with that cell lost | RTT ms |",
              "|---|---|---|---|---|---|---|---|---|---|"]
    for r in shipped["latency"]:
        lines.append(f"| {r['country']} | {r['zone']} | {r['cell']} | {r['rttMs']} | {r['n1Cell'] or 'unavailable (503)'} | {r['n1RttMs'] or '-'} | "
                     f"{r['nearestCell']} | {r['nearestRttMs']} | {r['nearestN1Cell']} | {r['nearestN1RttMs']} |")
    return "\n".join(lines) + "\n"


def _strict_cost_text(cost: dict) -> str:
    return (f"{', '.join(cost['countries'])} pinned to {cost['region']}: {cost['pinnedRttMs']} vs {cost['nearestRttMs']}; "
            f"unavailable (503) vs {cost['nearestN1RttMs']}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.plan", description=__doc__.splitlines()[0])
    parser.add_argument("--layout", help="comma-separated cell regions to evaluate instead of the shipped stacks")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--write", action="store_true", help=f"regenerate {DOC.relative_to(ROOT)}")
    parser.add_argument("--check", action="store_true", help=f"exit 1 if {DOC.relative_to(ROOT)} is stale")
    args = parser.parse_args(argv)
    try:
        inputs = load_plan_inputs(ROOT)
        cells = [c.strip() for c in args.layout.split(",") if c.strip()] if args.layout else None
        p = make_plan(inputs, cells)
        doc = plan_document(p, inputs.model)
        if args.write or args.check:
            markdown = render_markdown(inputs, [doc, summary(make_plan(inputs, list(ALL_EU_LAYOUT)), inputs.model)], inputs.model)
    except ConfigError as exc:
        print(f"config error: {exc}", file=sys.stderr)
        return 2
    if args.check:
        if not DOC.exists() or DOC.read_text() != markdown:
            print(f"{DOC.relative_to(ROOT)} is stale: run python -m tools.plan --write", file=sys.stderr)
            return 1
        print(f"{DOC.relative_to(ROOT)} is current")
        return 0
    if args.write:
        DOC.write_text(markdown)
        print(f"wrote {DOC.relative_to(ROOT)}")
    elif args.json:
        print(json.dumps(doc, indent=2))
    else:
        print(render_text(doc))
    return 1 if doc["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
