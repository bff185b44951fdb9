"""Every latency-routed Route 53 record has a health check, so a lost region drops out of DNS
(GDPR Art. 32(1)(b)/(c): availability and timely restoration)."""

from policy.rules._common import (
    HEALTH_CHECK, RECORD, EnforcementLevel, Severity, Unknown, as_list, depends_on, read, stack_rule,
    unknown_source_problems,
)


def _check(args):
    checks = [r for r in args.resources if r.resource_type == HEALTH_CHECK]
    for record in (r for r in args.resources if r.resource_type == RECORD):
        if not as_list(read(record.props, "latencyRoutingPolicies")):
            continue
        health_check = read(record.props, "healthCheckId")
        if isinstance(health_check, Unknown):  # at preview: the id of a health check this stack creates
            for problem in unknown_source_problems(record, "healthCheckId", health_check, (HEALTH_CHECK,),
                                                   "a Route 53 health check of this stack",
                                                   "set healthCheckId to a route53.HealthCheck's id"):
                yield record, problem
        elif not health_check:
            yield record, ("is latency-routed without a health check, so traffic keeps flowing to a failed region. "
                           "Fix: set healthCheckId to a route53.HealthCheck on the region's /health")
        elif checks and not any(depends_on(record, c) for c in checks):
            yield record, ("refers to a health check that is not defined in this stack. Fix: set healthCheckId to "
                           "the id of this stack's route53.HealthCheck for that region")


POLICY = stack_rule(
    name="latency-records-health-checked",
    description="Every latency-routed Route 53 record is tied to a health check of this stack.",
    article="Art. 32(1)(b)", title="Security of processing (availability and resilience)",
    severity=Severity.HIGH, level=EnforcementLevel.MANDATORY,
    remediation_steps="Create one route53.HealthCheck per region (deep /health) and set healthCheckId on its latency record.",
    check=_check,
)
