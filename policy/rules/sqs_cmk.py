"""SQS queues are encrypted with a customer-managed KMS key (GDPR Art. 32; CKV_AWS_27, SQS.1)."""

from policy.rules._common import QUEUE, EnforcementLevel, Severity, Unknown, graph_rule, read, unknown_key_problems

AWS_MANAGED = "alias/aws/sqs"


def _check(resource):
    key = read(resource.props, "kmsMasterKeyId")
    if isinstance(key, Unknown):
        yield from unknown_key_problems(resource, "kmsMasterKeyId", key)
    elif not key:
        yield "is not encrypted with a customer-managed KMS key. Fix: set kmsMasterKeyId to a CMK ARN"
    elif key == AWS_MANAGED:
        yield f"uses the AWS-managed key {AWS_MANAGED}. Fix: set kmsMasterKeyId to a customer-managed key"


POLICY = graph_rule(
    name="sqs-cmk-encryption",
    description="SQS queues are encrypted with a customer-managed KMS key.",
    article="Art. 32", title="Security of processing (encryption)",
    severity=Severity.HIGH, level=EnforcementLevel.MANDATORY,
    remediation_steps="Set `kmsMasterKeyId` to a customer-managed key (not alias/aws/sqs, not SQS-managed SSE).",
    types=(QUEUE,), check=_check,
)
