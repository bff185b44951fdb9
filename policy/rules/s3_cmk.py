"""S3 buckets, if ever used, are encrypted with a customer-managed KMS key (GDPR Art. 32;
CKV_AWS_145). A stack policy: with pulumi-aws v7 the encryption is a separate
`BucketServerSideEncryptionConfiguration` resource that refers to the bucket."""

from policy.rules._common import (
    S3_BUCKETS, S3_SSE, EnforcementLevel, Severity, as_list, depends_on, stack_rule,
)


def _kms_rules(props) -> list:
    return [r for r in as_list(props.get("rules"))
            if ((r or {}).get("applyServerSideEncryptionByDefault") or {}).get("sseAlgorithm") in ("aws:kms", "aws:kms:dsse")
            and ((r or {}).get("applyServerSideEncryptionByDefault") or {}).get("kmsMasterKeyId")]


def _inline_ok(props) -> bool:
    sse = props.get("serverSideEncryptionConfiguration") or {}
    rule = sse.get("rule") or {}
    default = rule.get("applyServerSideEncryptionByDefault") or {}
    return default.get("sseAlgorithm") in ("aws:kms", "aws:kms:dsse") and bool(default.get("kmsMasterKeyId"))


def _check(args):
    configs = [r for r in args.resources if r.resource_type in S3_SSE]
    for config in configs:
        if not _kms_rules(config.props):
            yield config, ("does not set aws:kms with a customer-managed kmsMasterKeyId. Fix: set "
                           "rules[].applyServerSideEncryptionByDefault={sseAlgorithm: aws:kms, kmsMasterKeyId: <CMK>}")
    for bucket in (r for r in args.resources if r.resource_type in S3_BUCKETS):
        if _inline_ok(bucket.props):
            continue
        if any(depends_on(c, bucket) and _kms_rules(c.props) for c in configs):
            continue
        yield bucket, ("has no customer-managed KMS default encryption. Fix: add an "
                       "aws.s3.BucketServerSideEncryptionConfiguration for it with sseAlgorithm aws:kms and a CMK")


POLICY = stack_rule(
    name="s3-cmk-encryption",
    description="S3 buckets are encrypted by default with a customer-managed KMS key.",
    article="Art. 32", title="Security of processing (encryption)",
    severity=Severity.HIGH, level=EnforcementLevel.MANDATORY,
    remediation_steps="Give every bucket a BucketServerSideEncryptionConfiguration with sseAlgorithm aws:kms and a CMK.",
    check=_check,
)
