"""SQS queues are encrypted with a customer-managed KMS key (GDPR Art. 32; CKV_AWS_27, SQS.1)."""

from policy.rules._common import QUEUE, EnforcementLevel, Severity, graph_rule, key_problems, read



def _check(resource):
    yield from key_problems(resource, "kmsMasterKeyId", read(resource.props, "kmsMasterKeyId"),
                            "is not encrypted with a customer-managed KMS key. Fix: set kmsMasterKeyId to a CMK ARN")


POLICY = graph_rule(
    name="sqs-cmk-encryption",
    description="SQS queues are encrypted with a customer-managed KMS key.",
    article="Art. 32", title="Security of processing (encryption)",
    severity=Severity.HIGH, level=EnforcementLevel.MANDATORY,
    remediation_steps="Set `kmsMasterKeyId` to a customer-managed key (not alias/aws/sqs, not SQS-managed SSE).",
    types=(QUEUE,), check=_check,
)
