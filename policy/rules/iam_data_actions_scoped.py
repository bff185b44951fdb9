"""DynamoDB and KMS data actions are granted on named resources, never on `*` (GDPR Art. 25;
a role that may read every table or use every key defeats the residency zones)."""

from policy.rules._common import EnforcementLevel, Severity, IAM_DOCUMENT_TYPES, as_list, iam_documents, policy_statements, resource_rule

DATA_SERVICES = ("dynamodb:", "kms:")


def _check(args):
    for where, doc in iam_documents(args.resource_type, args.props):
        for i, st in enumerate(policy_statements(doc)):
            if st.get("Effect") != "Allow":
                continue
            actions = [a for a in as_list(st.get("Action")) if isinstance(a, str) and a.lower().startswith(DATA_SERVICES)]
            resources = as_list(st.get("Resource"))
            if actions and ("*" in resources or st.get("NotResource") is not None):
                yield (f"{where} statement {st.get('Sid') or i} allows {actions} on Resource \"*\". Fix: name the "
                       "table/index/stream ARNs or key ARNs")


POLICY = resource_rule(
    name="iam-data-actions-scoped",
    description="DynamoDB and KMS actions in IAM policies are scoped to named resources.",
    article="Art. 25", title="Data protection by design and by default",
    severity=Severity.HIGH, level=EnforcementLevel.MANDATORY,
    remediation_steps="Replace Resource \"*\" on dynamodb:/kms: actions with the specific table and key ARNs.",
    types=(*IAM_DOCUMENT_TYPES, "aws:iam/role:Role"), check=_check,
)
