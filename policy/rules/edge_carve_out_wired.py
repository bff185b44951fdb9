"""The us-east-1 carve-out of `eu-regions` is used only for the CloudFront edge: every carved-out
resource in us-east-1 (certificate, CLOUDFRONT WAF, Lambda@Edge function, its log group and log
key) is attached to a CloudFront distribution of the same stack (GDPR Art. 44)."""

from policy.rules._common import (
    DISTRIBUTION, EDGE_CONTROL_REGION, FUNCTION, LOG_GROUP, EnforcementLevel, Severity, dependency_closure,
    depends_on, resource_region, stack_rule,
)
from policy.rules.eu_regions import EDGE_LOG_PREFIX, carve_out_reason


def _check(args):
    carved = [r for r in args.resources
              if r.resource_type.startswith("aws:") and resource_region(r) == EDGE_CONTROL_REGION
              and carve_out_reason(r.resource_type, r.props or {})]
    if not carved:
        return
    wired = dependency_closure(r for r in args.resources if r.resource_type == DISTRIBUTION)
    edge_functions = [r for r in wired.values() if r.resource_type == FUNCTION]
    edge_names = {str(f.props.get("name") or f.name) for f in edge_functions}
    log_groups = []
    for r in carved:
        if r.resource_type != LOG_GROUP:
            continue
        name = str(r.props.get("name") or "")
        if name[len(EDGE_LOG_PREFIX):] in edge_names or any(depends_on(r, f) or depends_on(f, r) for f in edge_functions):
            wired[r.urn] = r
            log_groups.append(r)
    for r in carved:
        if r.urn in wired:
            continue
        if any(depends_on(g, r) for g in log_groups):
            continue  # the key of a wired edge log group
        yield r, (f"uses the us-east-1 carve-out ({carve_out_reason(r.resource_type, r.props)}) but is not attached "
                  "to a CloudFront distribution of this stack. Fix: create it in an EU region, or attach it to the "
                  "distribution (certificate, webAclId, lambdaFunctionAssociations)")


POLICY = stack_rule(
    name="edge-carve-out-wired",
    description="Resources in us-east-1 under the CloudFront carve-out are attached to this stack's distribution.",
    article="Art. 44", title="General principle for transfers",
    severity=Severity.HIGH, level=EnforcementLevel.MANDATORY,
    remediation_steps="Move anything not serving CloudFront to an EU region.",
    check=_check,
)
