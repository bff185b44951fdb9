"""A cell stack carries the committed traffic profile (capacity.yaml) with any one cell lost
(GDPR Art. 32(1)(b): the ongoing availability and resilience of processing systems).

The rule puts this stack's capacity settings (reserved concurrency of appx-api, appx-worker and
appx-stream, the API stage's throttle, the worker's SQS mapping maximum concurrency) in place of
the committed ones for its region and runs the capacity plan of `python -m tools.plan`. Every
value it reads is a configuration input, known at preview time.
"""

from __future__ import annotations

import math
from functools import lru_cache

from components.capacity_plan import CellLimits, PlanInputs, alternative_layout, load_plan_inputs, plan_for, shipped_layout
from policy.rules._common import (
    API_STAGE, EU_REGIONS, FUNCTION, REPO_ROOT, EnforcementLevel, Severity, depends_on, resource_region, stack_rule,
)

EVENT_SOURCE_MAPPING = "aws:lambda/eventSourceMapping:EventSourceMapping"
FUNCTIONS = ("appx-api", "appx-worker", "appx-stream")


@lru_cache(maxsize=1)
def _inputs() -> PlanInputs:
    return load_plan_inputs(REPO_ROOT)


def _int(value) -> int:
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0 else 0


def _fix(line, required: int, file: str) -> str:
    if line.setting:
        return f"set {line.setting} to at least {required} in {file}"
    if line.key == "unreserved":
        return ("lower the reserved concurrency of this region's functions, or raise the account's concurrent executions "
                f"and record it in quotas.yaml accountOverrides.{line.region}")
    return (f"raise this quota through Service Quotas and record it in quotas.yaml accountOverrides.{line.region}, "
            "or move load off the region (python -m tools.plan --layout)")


def _check(args):
    functions = {r.props.get("name"): r for r in args.resources if r.resource_type == FUNCTION and r.props.get("name") in FUNCTIONS}
    stage = next((r for r in args.resources if r.resource_type == API_STAGE
                  and (r.props.get("defaultRouteSettings") or {}).get("throttlingRateLimit") is not None), None)
    api = functions.get("appx-api")
    if api is None or stage is None:
        return  # not a cell stack
    region = resource_region(api)
    if region not in EU_REGIONS:
        return  # eu-regions refuses the stack; there is no cell to size
    inputs = _inputs()
    layout = shipped_layout(inputs.project)
    if region not in layout.cells:
        layout = alternative_layout(inputs.project, [*layout.cells, region])
    worker = functions.get("appx-worker")
    mapping = next((r for r in args.resources if r.resource_type == EVENT_SOURCE_MAPPING and worker is not None and depends_on(r, worker)), None)
    throttle = stage.props.get("defaultRouteSettings") or {}
    max_concurrency = _int((mapping.props.get("scalingConfig") or {}).get("maximumConcurrency")) if mapping else 0
    limits = CellLimits(
        api_reserved=_int(api.props.get("reservedConcurrentExecutions")),
        worker_reserved=_int(worker.props.get("reservedConcurrentExecutions")) if worker else 0,
        stream_reserved=_int(functions["appx-stream"].props.get("reservedConcurrentExecutions")) if "appx-stream" in functions else 0,
        api_rate_limit=_int(throttle.get("throttlingRateLimit")),
        api_burst_limit=_int(throttle.get("throttlingBurstLimit")),
        worker_max_concurrency=max_concurrency or None,
    )
    file = f"Pulumi.{region}.yaml"
    p = plan_for(inputs, layout.with_limits(region, limits, "this stack"))
    worst: dict[str, tuple] = {}
    for scenario, line in p.failures():
        if line.region == region and (line.key not in worst or line.headroom < worst[line.key][1].headroom):
            worst[line.key] = (scenario, line)
    # The worker's capacity is the lower of its reservation and its SQS mapping's maximum concurrency.
    capped_by_mapping = limits.worker_max_concurrency is not None and limits.worker_max_concurrency < limits.worker_reserved
    owner = {"apiStageRate": stage, "apiGatewayRps": stage, "workerConcurrency": mapping if capped_by_mapping else (worker or api)}
    for key, (scenario, line) in worst.items():
        required = math.ceil(p.required(region, key)) if line.setting else None
        yield owner.get(key, api), (
            f"fails N-1 for capacity.yaml's peak: binding quota '{line.quota}' in {region} with {scenario.down} down: "
            f"demand {line.demand:.0f} > {line.capacity:g} ({line.source}). Fix: {_fix(line, required, file)}; "
            "see python -m tools.plan")


POLICY = stack_rule(
    name="cell-capacity-n-1",
    description="A cell stack's reserved concurrency, API throttle and regional quotas carry the committed traffic profile with any one cell lost.",
    article="Art. 32(1)(b)", title="Security of processing (availability and resilience)",
    severity=Severity.HIGH, level=EnforcementLevel.MANDATORY,
    remediation_steps=("Run `python -m tools.plan`: it prints the binding quota and the settings the profile needs; set "
                       "appx:cell.reservedConcurrency / apiThrottle / workerMaxConcurrency in Pulumi.<region>.yaml, or record a "
                       "raised quota in quotas.yaml accountOverrides."),
    check=_check,
)
