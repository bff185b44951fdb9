"""Every regional resource is created in an EU region (GDPR Art. 44, transfers to third countries).

Region = the resource's own `region` input (pulumi-aws v7), else its provider's region, else the
stack's `aws:region`. Global services (IAM, Route 53, CloudFront and its policies/functions) have
no regional data plane and are exempt. The us-east-1 carve-out is narrow, per type and shape:

* ACM certificates (and their validations) — CloudFront only accepts us-east-1 certificates;
* WAFv2 objects with `scope: CLOUDFRONT` (a REGIONAL web ACL in us-east-1 is a violation);
* Lambda@Edge functions: `publish: true`, no environment variables, no layers, no VPC, x86_64 —
  the shape AWS requires of edge functions (an ordinary function in us-east-1 is a violation);
* the Lambda@Edge log group named `/aws/lambda/us-east-1.<function>`;
* a KMS key tagged `purpose=edge-logs` that encrypts that log group.

Whether each carved-out resource is really attached to the CloudFront distribution is checked by
the stack policy `edge-carve-out-wired`.
"""

from policy.rules._common import (
    CERTIFICATE, CERTIFICATE_VALIDATION, EDGE_CONTROL_REGION, EU_REGIONS, FUNCTION, GLOBAL_TYPE_PREFIXES,
    KMS_KEY, LOG_GROUP, PURPOSE_TAG, EnforcementLevel, Severity, as_list, region_of, resource_rule,
    tags_of, truthy,
)

EDGE_LOG_PREFIX = f"/aws/lambda/{EDGE_CONTROL_REGION}."
EDGE_LOGS_PURPOSE = "edge-logs"


def is_edge_function_shape(props) -> bool:
    env = (props.get("environment") or {}).get("variables") or {}
    archs = as_list(props.get("architectures"))
    return (truthy(props.get("publish")) and not env and not as_list(props.get("layers"))
            and not props.get("vpcConfig") and all(a == "x86_64" for a in archs))


def carve_out_reason(resource_type: str, props) -> str | None:
    """Why `resource_type` may live in us-east-1, or None."""
    if resource_type in (CERTIFICATE, CERTIFICATE_VALIDATION):
        return "ACM certificate for CloudFront"
    if resource_type.startswith("aws:wafv2/") and props.get("scope") == "CLOUDFRONT":
        return "CLOUDFRONT-scope WAF"
    if resource_type == FUNCTION and is_edge_function_shape(props):
        return "Lambda@Edge function"
    if resource_type == LOG_GROUP and str(props.get("name") or "").startswith(EDGE_LOG_PREFIX):
        return "Lambda@Edge log group"
    if resource_type == KMS_KEY and tags_of(props).get(PURPOSE_TAG) == EDGE_LOGS_PURPOSE:
        return "key of the Lambda@Edge log group"
    return None


def is_regional(resource_type: str) -> bool:
    return resource_type.startswith("aws:") and not resource_type.startswith(GLOBAL_TYPE_PREFIXES)


def _check(args):
    if not is_regional(args.resource_type):
        return
    region = region_of(args.props, args.provider)
    if region is None:
        yield ("its region cannot be determined. Fix: set `aws:region` on the stack or an explicit "
               "provider/`region` to an EU region")
        return
    if region in EU_REGIONS:
        return
    if region == EDGE_CONTROL_REGION and carve_out_reason(args.resource_type, args.props):
        return
    hint = ""
    if region == EDGE_CONTROL_REGION and args.resource_type == FUNCTION:
        hint = (" (only a Lambda@Edge function may live there: publish=true, no environment, no layers, "
                "no VPC, x86_64)")
    yield (f"is created in {region}, outside the EU{hint}. Fix: create it through an EU provider or set "
           f"`region` to one of {', '.join(sorted(EU_REGIONS))}")


POLICY = resource_rule(
    name="eu-regions",
    description="Every regional AWS resource is created in an EU region; us-east-1 only for what CloudFront requires.",
    article="Art. 44", title="General principle for transfers",
    severity=Severity.CRITICAL, level=EnforcementLevel.MANDATORY,
    remediation_steps=("Create the resource through a provider whose region is in the EU (eu-west-1, eu-west-3, "
                       "eu-central-1, eu-north-1, eu-south-1, eu-south-2), or set its `region` input. Only "
                       "CloudFront certificates, CLOUDFRONT-scope WAF, Lambda@Edge (function, log group, its "
                       "log key) may use the us-east-1 provider."),
    types=None, check=_check,
)
