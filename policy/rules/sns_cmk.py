"""SNS topics, if ever used, are encrypted with a customer-managed KMS key (GDPR Art. 32; CKV_AWS_26)."""

from policy.rules._common import SNS_TOPIC, EnforcementLevel, Severity, Unknown, graph_rule, read, unknown_key_problems

AWS_MANAGED = "alias/aws/sns"


def _check(resource):
    key = read(resource.props, "kmsMasterKeyId")
    if isinstance(key, Unknown):
        yield from unknown_key_problems(resource, "kmsMasterKeyId", key)
    elif not key or key == AWS_MANAGED:
        yield ("is not encrypted with a customer-managed KMS key. Fix: set kmsMasterKeyId to a CMK ARN "
               f"(not {AWS_MANAGED})")


POLICY = graph_rule(
    name="sns-cmk-encryption",
    description="SNS topics are encrypted with a customer-managed KMS key.",
    article="Art. 32", title="Security of processing (encryption)",
    severity=Severity.MEDIUM, level=EnforcementLevel.MANDATORY,
    remediation_steps="Set `kmsMasterKeyId` on the topic to a customer-managed key.",
    types=(SNS_TOPIC,), check=_check,
)
