"""CloudFront reaches custom origins over HTTPS with TLS 1.2 only (GDPR Art. 32; CloudFront.9/.10)."""

from policy.rules._common import DISTRIBUTION, EnforcementLevel, Severity, as_list, resource_rule


def _check(args):
    for i, origin in enumerate(as_list(args.props.get("origins"))):
        custom = (origin or {}).get("customOriginConfig")
        if not custom:
            continue  # S3 origins with OAC are HTTPS by construction
        oid = (origin or {}).get("originId", i)
        if custom.get("originProtocolPolicy") != "https-only":
            yield (f"origin {oid} uses originProtocolPolicy={custom.get('originProtocolPolicy')!r}. Fix: set "
                   "customOriginConfig.originProtocolPolicy=https-only")
        protocols = as_list(custom.get("originSslProtocols"))
        if protocols != ["TLSv1.2"]:
            yield (f"origin {oid} allows originSslProtocols {protocols}. Fix: set "
                   "customOriginConfig.originSslProtocols=[\"TLSv1.2\"]")


POLICY = resource_rule(
    name="cloudfront-origin-tls",
    description="CloudFront custom origins are reached over HTTPS only with TLS 1.2.",
    article="Art. 32", title="Security of processing (encryption in transit)",
    severity=Severity.HIGH, level=EnforcementLevel.MANDATORY,
    remediation_steps="Set customOriginConfig {originProtocolPolicy: https-only, originSslProtocols: [TLSv1.2]} on every custom origin.",
    types=(DISTRIBUTION,), check=_check,
)
