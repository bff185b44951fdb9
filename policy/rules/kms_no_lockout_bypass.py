"""KMS key policies are never applied with the lockout safety check bypassed (GDPR Art. 32; an
unmanageable key makes encrypted personal data unrecoverable or un-erasable)."""

from policy.rules._common import KMS_KEY, KMS_KEY_POLICY, KMS_REPLICA_KEY, EnforcementLevel, Severity, resource_rule, truthy


def _check(args):
    if truthy(args.props.get("bypassPolicyLockoutSafetyCheck")):
        yield "sets bypassPolicyLockoutSafetyCheck=true. Fix: remove it (leave it false)"


POLICY = resource_rule(
    name="kms-no-lockout-bypass",
    description="KMS keys and key policies do not bypass the policy lockout safety check.",
    article="Art. 32", title="Security of processing (encryption key management)",
    severity=Severity.HIGH, level=EnforcementLevel.MANDATORY,
    remediation_steps="Remove `bypassPolicyLockoutSafetyCheck` from keys, replica keys and key policies.",
    types=(KMS_KEY, KMS_REPLICA_KEY, KMS_KEY_POLICY), check=_check,
)
