"""Lambda functions that have environment variables encrypt them with a customer-managed key
(GDPR Art. 32; CKV_AWS_173). Functions without variables are not affected."""

from policy.rules._common import FUNCTION, EnforcementLevel, Severity, graph_rule, key_problems, read


def _check(resource):
    variables = read(resource.props, "environment", "variables")
    if not variables:  # an unknown variables map counts as variables
        return
    yield from key_problems(resource, "kmsKeyArn", read(resource.props, "kmsKeyArn"),
                            "has environment variables encrypted only with the AWS-managed key. Fix: set kmsKeyArn to "
                            "a customer-managed key")


POLICY = graph_rule(
    name="lambda-env-cmk-encryption",
    description="Lambda environment variables, if any, are encrypted with a customer-managed KMS key.",
    article="Art. 32", title="Security of processing (encryption)",
    severity=Severity.MEDIUM, level=EnforcementLevel.MANDATORY,
    remediation_steps="Set `kmsKeyArn` on every function that defines `environment.variables`.",
    types=(FUNCTION,), check=_check,
)
