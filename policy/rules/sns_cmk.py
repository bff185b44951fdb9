"""SNS topics, if ever used, are encrypted with a customer-managed KMS key (GDPR Art. 32; CKV_AWS_26)."""

from policy.rules._common import SNS_TOPIC, EnforcementLevel, Severity, graph_rule, key_problems, read



def _check(resource):
    yield from key_problems(resource, "kmsMasterKeyId", read(resource.props, "kmsMasterKeyId"),
                            "is not encrypted with a customer-managed KMS key. Fix: set kmsMasterKeyId to a CMK ARN "
                            "(not alias/aws/sns)")


POLICY = graph_rule(
    name="sns-cmk-encryption",
    description="SNS topics are encrypted with a customer-managed KMS key.",
    article="Art. 32", title="Security of processing (encryption)",
    severity=Severity.MEDIUM, level=EnforcementLevel.MANDATORY,
    remediation_steps="Set `kmsMasterKeyId` on the topic to a customer-managed key.",
    types=(SNS_TOPIC,), check=_check,
)
