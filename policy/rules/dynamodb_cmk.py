"""DynamoDB tables and every replica are encrypted with a customer-managed KMS key (GDPR Art. 32;
Checkov CKV_AWS_119). Without `kmsKeyArn`, AWS uses an AWS-owned or AWS-managed key that the
account cannot restrict, audit or schedule for deletion."""

from policy.rules._common import (
    TABLE, TABLE_REPLICA, EnforcementLevel, Severity, Unknown, as_list, graph_rule, key_problems, read, truthy,
    undecidable,
)

NAME = "dynamodb-cmk-encryption"


def _check(resource):
    props = resource.props
    if resource.resource_type == TABLE:
        enabled, key = read(props, "serverSideEncryption", "enabled"), read(props, "serverSideEncryption", "kmsKeyArn")
        if isinstance(enabled, Unknown):
            yield undecidable(enabled, NAME)
        elif not truthy(enabled):
            yield ("is not encrypted with a customer-managed KMS key. Fix: set serverSideEncryption="
                   "{enabled: true, kmsKeyArn: <CMK ARN>}")
        else:
            yield from key_problems(resource, "serverSideEncryption", key,
                                    "is not encrypted with a customer-managed KMS key. Fix: set serverSideEncryption="
                                    "{enabled: true, kmsKeyArn: <CMK ARN>}")
        for i, replica in enumerate(as_list(read(props, "replicas"))):
            yield from key_problems(resource, "replicas", read(replica, "kmsKeyArn"),
                                    f"replicas[{i}] ({read(replica, 'regionName')}) has no kmsKeyArn, so it falls back "
                                    "to the AWS-managed key. Fix: set replicas[].kmsKeyArn to a CMK in the replica's region")
        return
    yield from key_problems(resource, "kmsKeyArn", read(props, "kmsKeyArn"),
                            "has no kmsKeyArn. Fix: set kmsKeyArn to a customer-managed key in the replica's region")


POLICY = graph_rule(
    name=NAME,
    description="DynamoDB tables and each of their replicas are encrypted with a customer-managed KMS key.",
    article="Art. 32", title="Security of processing (encryption)",
    severity=Severity.HIGH, level=EnforcementLevel.MANDATORY,
    remediation_steps="Set `serverSideEncryption.kmsKeyArn` on tables and `kmsKeyArn` on every replica.",
    types=(TABLE, TABLE_REPLICA), check=_check,
)
