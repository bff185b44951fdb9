"""CloudFront serves viewers over HTTPS only, with TLSv1.2_2021 or newer (GDPR Art. 32;
CKV_AWS_34/174, CloudFront.3). The default *.cloudfront.net certificate allows TLSv1."""

from policy.rules._common import DISTRIBUTION, EnforcementLevel, PolicyConfigSchema, Severity, as_list, conf, resource_rule, truthy

# CloudFront security policies, weakest first (only the TLS 1.2+ ones are acceptable at all).
TLS_POLICIES = ("TLSv1.2_2018", "TLSv1.2_2019", "TLSv1.2_2021", "TLSv1.2_2025", "TLSv1.3_2025")
DEFAULT_MINIMUM = "TLSv1.2_2021"
HTTPS_POLICIES = ("redirect-to-https", "https-only")


def _check(args):
    behaviors = [("defaultCacheBehavior", args.props.get("defaultCacheBehavior") or {})]
    behaviors += [(f"orderedCacheBehaviors[{i}] {(b or {}).get('pathPattern', '')}".rstrip(), b or {})
                  for i, b in enumerate(as_list(args.props.get("orderedCacheBehaviors")))]
    for where, behavior in behaviors:
        policy = behavior.get("viewerProtocolPolicy")
        if policy not in HTTPS_POLICIES:
            yield (f"{where} allows viewerProtocolPolicy={policy!r}. Fix: set viewerProtocolPolicy to "
                   "redirect-to-https or https-only")
    minimum = conf(args, "minimumProtocolVersion", DEFAULT_MINIMUM)
    allowed = TLS_POLICIES[TLS_POLICIES.index(minimum):] if minimum in TLS_POLICIES else (minimum,)
    cert = args.props.get("viewerCertificate") or {}
    if truthy(cert.get("cloudfrontDefaultCertificate")):
        yield ("uses the default CloudFront certificate, which accepts TLSv1. Fix: use an ACM certificate "
               f"(us-east-1) with minimumProtocolVersion {minimum} or newer and sslSupportMethod sni-only")
        return
    version = cert.get("minimumProtocolVersion")
    if version not in allowed:
        yield (f"accepts viewer TLS {version!r}. Fix: set viewerCertificate.minimumProtocolVersion to one of "
               f"{', '.join(allowed)}")


POLICY = resource_rule(
    name="cloudfront-viewer-tls",
    description="CloudFront redirects viewers to HTTPS and requires TLSv1.2_2021 or newer.",
    article="Art. 32", title="Security of processing (encryption in transit)",
    severity=Severity.HIGH, level=EnforcementLevel.MANDATORY,
    remediation_steps=("Set viewerProtocolPolicy redirect-to-https/https-only on every cache behavior and "
                       "viewerCertificate {acmCertificateArn, sslSupportMethod: sni-only, minimumProtocolVersion: TLSv1.2_2021}."),
    types=(DISTRIBUTION,), check=_check,
    config_schema=PolicyConfigSchema(properties={"minimumProtocolVersion": {
        "type": "string", "enum": list(TLS_POLICIES[2:]), "default": DEFAULT_MINIMUM,
        "description": "Weakest acceptable CloudFront viewer security policy."}}),
)
