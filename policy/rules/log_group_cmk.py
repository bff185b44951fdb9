"""CloudWatch log groups are encrypted with a customer-managed KMS key (GDPR Art. 32; CKV_AWS_158)."""

from policy.rules._common import LOG_GROUP, EnforcementLevel, Severity, graph_rule, key_problems, read


def _check(resource):
    yield from key_problems(resource, "kmsKeyId", read(resource.props, "kmsKeyId"),
                            "is not encrypted with a customer-managed KMS key. Fix: set kmsKeyId to a CMK ARN in its region")


POLICY = graph_rule(
    name="log-group-cmk-encryption",
    description="CloudWatch log groups are encrypted with a customer-managed KMS key.",
    article="Art. 32", title="Security of processing (encryption)",
    severity=Severity.MEDIUM, level=EnforcementLevel.MANDATORY,
    remediation_steps="Set `kmsKeyId` on the log group; the key policy must allow logs.<region>.amazonaws.com.",
    types=(LOG_GROUP,), check=_check,
)
