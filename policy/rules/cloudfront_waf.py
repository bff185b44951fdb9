"""CloudFront distributions have a WAF web ACL attached (GDPR Art. 32(1)(b), resilience against
abuse; CKV_AWS_68, CloudFront.6)."""

from policy.rules._common import (
    DISTRIBUTION, WEB_ACL, EnforcementLevel, Severity, Unknown, graph_rule, read, unknown_source_problems,
)


def _check(resource):
    acl = read(resource.props, "webAclId")
    if isinstance(acl, Unknown):
        yield from unknown_source_problems(resource, "webAclId", acl, (WEB_ACL,), "a WAF web ACL",
                                           "set webAclId to a wafv2.WebAcl's arn")
    elif not acl:
        yield "has no WAF web ACL. Fix: set webAclId to the ARN of a CLOUDFRONT-scope wafv2.WebAcl"


POLICY = graph_rule(
    name="cloudfront-waf",
    description="CloudFront distributions are protected by a WAF web ACL.",
    article="Art. 32(1)(b)", title="Security of processing (resilience)",
    severity=Severity.MEDIUM, level=EnforcementLevel.MANDATORY,
    remediation_steps="Attach a CLOUDFRONT-scope wafv2.WebAcl (created in us-east-1) via webAclId.",
    types=(DISTRIBUTION,), check=_check,
)
