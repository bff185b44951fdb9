"""Edge processing happens only in the EU regions decided in residency.yaml, and every region it
may happen in has the edge function's log group pre-created with a retention and a
customer-managed key (GDPR Art. 44, with Art. 5(1)(e) and 32 for the logs).

CloudFront runs a Lambda@Edge function in the region of the regional edge cache serving the
viewer, and the function logs there (a group it creates itself keeps logs forever, without a
CMK). Its possible execution regions are `edgeRegions` of residency.yaml plus the regional edge
cache region of every country the distribution lets in (`REGIONAL_EDGE_CACHE_BY_COUNTRY`: GB is
served from London); a distribution without a geo whitelist lets in viewers from everywhere,
whose edge caches include regions outside the EU.
"""

from components.regions import REGIONAL_EDGE_CACHE_BY_COUNTRY
from policy.rules import _common
from policy.rules._common import (
    DISTRIBUTION, EU_REGIONS, FUNCTION, LOG_GROUP, EnforcementLevel, Severity, Unknown, as_list, dependency_closure,
    read, resource_region, stack_rule, undecidable, unknown_key_problems,
)
from policy.rules.eu_regions import EDGE_LOG_PREFIX, is_edge_function_shape


def _log_group_name(function) -> str | Unknown:
    """Lambda@Edge's default group, or the custom one of its logging config (used unprefixed)."""
    custom = read(function.props, "loggingConfig", "logGroup")
    if custom:
        return custom
    name = read(function.props, "name")
    return name if isinstance(name, Unknown) else f"{EDGE_LOG_PREFIX}{name or function.name}"


def possible_regions(distribution) -> tuple[dict[str, list[str]], bool]:
    """region -> why the function may run there, and whether the distribution whitelists countries."""
    restriction = read(distribution.props, "restrictions", "geoRestriction", "restrictionType")
    if isinstance(restriction, Unknown):
        raise _Undecidable(restriction)
    regions: dict[str, list[str]] = {r: ["residency.yaml edgeRegions"] for r in _common.residency().edge_regions}
    whitelisted = restriction == "whitelist"
    for country in as_list(read(distribution.props, "restrictions", "geoRestriction", "locations")) if whitelisted else ():
        if isinstance(country, Unknown):
            raise _Undecidable(country)
        cache = REGIONAL_EDGE_CACHE_BY_COUNTRY.get(str(country))
        if cache:
            regions.setdefault(cache, []).append(f"regional edge cache of {country} viewers")
    return regions, whitelisted


class _Undecidable(Exception):
    def __init__(self, value: Unknown):
        self.value = value


def _log_group_problem(groups) -> str | None:
    if not groups:
        return ("has no log group pre-created there. Fix: list the region in residency.yaml `edgeRegions` (the "
                "global stack then creates the group with retention and a CMK of that region)")
    for group in groups:
        if not read(group.props, "retentionInDays"):
            return "has a log group there without a retention period. Fix: set retentionInDays"
        key = read(group.props, "kmsKeyId")
        if isinstance(key, Unknown):  # at a first preview: a CMK if it comes from a KMS key of this stack
            problems = unknown_key_problems(group, "kmsKeyId", key)
            if problems:
                return f"has a log group there whose {problems[0]}"
        elif not key:
            return "has a log group there without a customer-managed key. Fix: set kmsKeyId to a CMK of that region"
    return None


def _check(args):
    log_groups = [r for r in args.resources if r.resource_type == LOG_GROUP]
    for distribution in (r for r in args.resources if r.resource_type == DISTRIBUTION):
        functions = [r for r in dependency_closure([distribution]).values()
                     if r.resource_type == FUNCTION and is_edge_function_shape(r.props or {})]
        if not functions:
            continue
        try:
            regions, whitelisted = possible_regions(distribution)
        except _Undecidable as undecided:
            yield distribution, undecidable(undecided.value, POLICY_NAME)
            continue
        for function in functions:
            if not whitelisted:
                yield function, ("runs for a distribution without a geo whitelist: CloudFront may run it in regional "
                                 "edge caches outside the EU. Fix: set residency.yaml `unmappedCountries: deny` so the "
                                 "distribution whitelists the mapped countries only")
            name = _log_group_name(function)
            if isinstance(name, Unknown):
                yield function, undecidable(name, POLICY_NAME)
                continue
            for region, reasons in sorted(regions.items()):
                where = f"may run in {region} ({', '.join(reasons)})"
                if region not in EU_REGIONS:
                    yield function, (f"{where}, outside the EU. Fix: keep residency.yaml `edgeRegions` to EU regions and "
                                     "remove countries served from outside the EU from `countries`")
                    continue
                problem = _log_group_problem(
                    [g for g in log_groups if read(g.props, "name") == name and resource_region(g) == region])
                if problem:
                    yield function, f"{where} but {problem}"


POLICY_NAME = "edge-function-logs-where-it-runs"
POLICY = stack_rule(
    name=POLICY_NAME,
    description=("A Lambda@Edge function may run only in EU regions, each with its log group pre-created "
                 "(retention and a customer-managed key)."),
    article="Art. 44", title="General principle for transfers",
    severity=Severity.HIGH, level=EnforcementLevel.MANDATORY,
    remediation_steps=("List every region where the edge function may run in residency.yaml `edgeRegions` (EU regions "
                       "only; the global stack pre-creates the log group with retention and a CMK there), whitelist "
                       "only the mapped countries (`unmappedCountries: deny`) and remove countries served by a "
                       "regional edge cache outside the EU."),
    check=_check,
)
