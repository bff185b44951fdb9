"""CloudFront distributions have a WAF web ACL attached (GDPR Art. 32(1)(b), resilience against
abuse; CKV_AWS_68, CloudFront.6)."""

from policy.rules._common import DISTRIBUTION, EnforcementLevel, Severity, resource_rule


def _check(args):
    if not args.props.get("webAclId"):
        yield "has no WAF web ACL. Fix: set webAclId to the ARN of a CLOUDFRONT-scope wafv2.WebAcl"


POLICY = resource_rule(
    name="cloudfront-waf",
    description="CloudFront distributions are protected by a WAF web ACL.",
    article="Art. 32(1)(b)", title="Security of processing (resilience)",
    severity=Severity.MEDIUM, level=EnforcementLevel.MANDATORY,
    remediation_steps="Attach a CLOUDFRONT-scope wafv2.WebAcl (created in us-east-1) via webAclId.",
    types=(DISTRIBUTION,), check=_check,
)
