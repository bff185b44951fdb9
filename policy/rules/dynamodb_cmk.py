"""DynamoDB tables and every replica are encrypted with a customer-managed KMS key (GDPR Art. 32;
Checkov CKV_AWS_119). Without `kmsKeyArn`, AWS uses an AWS-owned or AWS-managed key that the
account cannot restrict, audit or schedule for deletion."""

from policy.rules._common import TABLE, TABLE_REPLICA, EnforcementLevel, Severity, as_list, resource_rule, truthy


def _check(args):
    if args.resource_type == TABLE:
        sse = args.props.get("serverSideEncryption") or {}
        if not truthy(sse.get("enabled")) or not sse.get("kmsKeyArn"):
            yield ("is not encrypted with a customer-managed KMS key. Fix: set serverSideEncryption="
                   "{enabled: true, kmsKeyArn: <CMK ARN>}")
        for i, replica in enumerate(as_list(args.props.get("replicas"))):
            if not (replica or {}).get("kmsKeyArn"):
                yield (f"replicas[{i}] ({(replica or {}).get('regionName')}) has no kmsKeyArn, so it falls back "
                       "to the AWS-managed key. Fix: set replicas[].kmsKeyArn to a CMK in the replica's region")
    elif not args.props.get("kmsKeyArn"):
        yield "has no kmsKeyArn. Fix: set kmsKeyArn to a customer-managed key in the replica's region"


POLICY = resource_rule(
    name="dynamodb-cmk-encryption",
    description="DynamoDB tables and each of their replicas are encrypted with a customer-managed KMS key.",
    article="Art. 32", title="Security of processing (encryption)",
    severity=Severity.HIGH, level=EnforcementLevel.MANDATORY,
    remediation_steps="Set `serverSideEncryption.kmsKeyArn` on tables and `kmsKeyArn` on every replica.",
    types=(TABLE, TABLE_REPLICA), check=_check,
)
