"""CloudWatch log groups are encrypted with a customer-managed KMS key (GDPR Art. 32; CKV_AWS_158)."""

from policy.rules._common import LOG_GROUP, EnforcementLevel, Severity, resource_rule


def _check(args):
    if not args.props.get("kmsKeyId"):
        yield "is not encrypted with a customer-managed KMS key. Fix: set kmsKeyId to a CMK ARN in its region"


POLICY = resource_rule(
    name="log-group-cmk-encryption",
    description="CloudWatch log groups are encrypted with a customer-managed KMS key.",
    article="Art. 32", title="Security of processing (encryption)",
    severity=Severity.MEDIUM, level=EnforcementLevel.MANDATORY,
    remediation_steps="Set `kmsKeyId` on the log group; the key policy must allow logs.<region>.amazonaws.com.",
    types=(LOG_GROUP,), check=_check,
)
