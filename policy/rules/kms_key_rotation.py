"""Symmetric KMS keys rotate automatically (GDPR Art. 32; CKV_AWS_7, KMS.4). Asymmetric keys
(the RSA field-encryption keys) cannot rotate automatically and are exempt. Remediable: the
remediation turns rotation on, which is always safe (old key material stays available)."""

from policy.rules._common import KMS_KEY, EnforcementLevel, Severity, plain, raw_unknown, resource_rule, truthy

SYMMETRIC = "SYMMETRIC_DEFAULT"


def is_symmetric_encryption_key(props) -> bool:
    return (props.get("customerMasterKeySpec") or props.get("keySpec") or SYMMETRIC) == SYMMETRIC and \
        (props.get("keyUsage") or "ENCRYPT_DECRYPT") == "ENCRYPT_DECRYPT"


def _check(args):
    if is_symmetric_encryption_key(args.props) and not truthy(args.props.get("enableKeyRotation")):
        yield "is a symmetric key without automatic rotation. Fix: set enableKeyRotation=true"


def _remediate(args):
    if args.resource_type != KMS_KEY or not is_symmetric_encryption_key(args.props):
        return None
    rotation = args.props.get("enableKeyRotation")
    if raw_unknown(rotation) or truthy(rotation):  # unknown: the validation fails closed
        return None
    props = plain(args.props)
    props["enableKeyRotation"] = True
    return props


POLICY = resource_rule(
    name="kms-key-rotation",
    description="Symmetric customer-managed KMS keys have automatic rotation enabled.",
    article="Art. 32", title="Security of processing (encryption key management)",
    severity=Severity.MEDIUM, level=EnforcementLevel.REMEDIATE,
    remediation_steps="Set `enableKeyRotation: true` (remediated automatically at enforcement level `remediate`).",
    types=(KMS_KEY,), check=_check, remediate=_remediate,
)
