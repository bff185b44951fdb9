"""No public, unauthenticated Lambda function URLs (GDPR Art. 25/32; Lambda.1)."""

from policy.rules._common import FUNCTION_URL, EnforcementLevel, Severity, resource_rule


def _check(args):
    if args.props.get("authorizationType") != "AWS_IAM":
        yield ("is reachable without authentication (authorizationType "
               f"{args.props.get('authorizationType')!r}). Fix: set authorizationType=AWS_IAM or route through the API")


POLICY = resource_rule(
    name="lambda-url-auth",
    description="Lambda function URLs require IAM authentication.",
    article="Art. 25", title="Data protection by design and by default",
    severity=Severity.CRITICAL, level=EnforcementLevel.MANDATORY,
    remediation_steps="Use authorizationType AWS_IAM or remove the function URL.",
    types=(FUNCTION_URL,), check=_check,
)
