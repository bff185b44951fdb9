"""KMS key policies grant nothing to the `*` principal without a condition (GDPR Art. 32;
CKV_AWS_33). Anyone in any account could otherwise use the key that protects personal data."""

from collections.abc import Mapping

from policy.rules._common import (
    KMS_KEY, KMS_KEY_POLICY, KMS_REPLICA_KEY, EnforcementLevel, Severity, as_list, parse_document,
    policy_statements, resource_rule,
)


def is_wildcard_principal(principal) -> bool:
    if principal == "*":
        return True
    if isinstance(principal, Mapping):
        return any("*" in as_list(v) for v in principal.values())
    return False


def _check(args):
    doc = args.props.get("policy")
    if doc is None:
        return
    if parse_document(doc) is None:
        yield "has a key policy that is not valid JSON. Fix: pass the policy as a JSON document"
        return
    for i, st in enumerate(policy_statements(doc)):
        if st.get("Effect", "Allow") != "Allow" or st.get("Condition"):
            continue
        if is_wildcard_principal(st.get("Principal")):
            sid = st.get("Sid") or f"#{i}"
            yield (f"key policy statement {sid} allows Principal \"*\" without a Condition. Fix: name the account "
                   "root or roles as principals, or add a Condition (e.g. aws:PrincipalAccount / kms:CallerAccount)")


POLICY = resource_rule(
    name="kms-no-public-principal",
    description="KMS key policies do not allow the `*` principal without a condition.",
    article="Art. 32", title="Security of processing (access control)",
    severity=Severity.CRITICAL, level=EnforcementLevel.MANDATORY,
    remediation_steps="Replace Principal \"*\" with explicit principals or add a restricting Condition.",
    types=(KMS_KEY, KMS_REPLICA_KEY, KMS_KEY_POLICY), check=_check,
)
