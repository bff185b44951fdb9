"""API Gateway (v2) custom domain names negotiate TLS 1.2 or newer (GDPR Art. 32; APIGateway TLS)."""

from policy.rules._common import API_DOMAIN, EnforcementLevel, Severity, resource_rule

ALLOWED = ("TLS_1_2",)


def _ok(policy) -> bool:
    return policy in ALLOWED or str(policy or "").startswith("SecurityPolicy_TLS13")


def _check(args):
    config = args.props.get("domainNameConfiguration") or {}
    policy = config.get("securityPolicy")
    if not _ok(policy):
        yield f"uses securityPolicy {policy!r}. Fix: set domainNameConfiguration.securityPolicy=TLS_1_2"


POLICY = resource_rule(
    name="api-domain-tls",
    description="HTTP API custom domain names require TLS 1.2.",
    article="Art. 32", title="Security of processing (encryption in transit)",
    severity=Severity.HIGH, level=EnforcementLevel.MANDATORY,
    remediation_steps="Set `domainNameConfiguration.securityPolicy: TLS_1_2`.",
    types=(API_DOMAIN,), check=_check,
)
