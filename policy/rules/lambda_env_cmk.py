"""Lambda functions that have environment variables encrypt them with a customer-managed key
(GDPR Art. 32; CKV_AWS_173). Functions without variables are not affected."""

from policy.rules._common import FUNCTION, EnforcementLevel, Severity, resource_rule


def _check(args):
    variables = (args.props.get("environment") or {}).get("variables") or {}
    if variables and not args.props.get("kmsKeyArn"):
        yield ("has environment variables encrypted only with the AWS-managed key. Fix: set kmsKeyArn to a "
               "customer-managed key")


POLICY = resource_rule(
    name="lambda-env-cmk-encryption",
    description="Lambda environment variables, if any, are encrypted with a customer-managed KMS key.",
    article="Art. 32", title="Security of processing (encryption)",
    severity=Severity.MEDIUM, level=EnforcementLevel.MANDATORY,
    remediation_steps="Set `kmsKeyArn` on every function that defines `environment.variables`.",
    types=(FUNCTION,), check=_check,
)
