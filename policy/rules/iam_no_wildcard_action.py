"""Identity policies never allow `*` or `<service>:*` actions (GDPR Art. 25, data protection by
default; CKV_AWS_49/62/63)."""

from policy.rules._common import (
    IAM_DOCUMENT_TYPES, EnforcementLevel, Severity, Unknown, as_list, iam_documents, parse_document, policy_statements,
    resource_rule, undecidable,
)

NAME = "iam-no-wildcard-action"


def wildcard_actions(statement) -> list[str]:
    return [a for a in as_list(statement.get("Action")) if isinstance(a, str) and (a == "*" or a.endswith(":*"))]


def _check(args):
    for where, doc in iam_documents(args.resource_type, args.props):
        if parse_document(doc) is None:
            yield f"{where} is not a valid JSON policy document. Fix: pass a JSON policy document"
            continue
        for i, st in enumerate(policy_statements(doc)):
            if st.get("Effect") != "Allow":
                continue
            yield from (undecidable(a, NAME) for a in as_list(st.get("Action")) if isinstance(a, Unknown))
            if st.get("NotAction") is not None:
                yield (f"{where} statement {st.get('Sid') or i} uses Allow + NotAction, which grants everything else. "
                       "Fix: list the needed actions explicitly")
            bad = wildcard_actions(st)
            if bad:
                yield (f"{where} statement {st.get('Sid') or i} allows wildcard actions {bad}. Fix: list the specific "
                       "actions the function needs (e.g. dynamodb:GetItem, dynamodb:PutItem)")


POLICY = resource_rule(
    name=NAME,
    description="IAM policies allow only named actions (no `*`, no `service:*`, no Allow+NotAction).",
    article="Art. 25", title="Data protection by design and by default",
    severity=Severity.HIGH, level=EnforcementLevel.MANDATORY,
    remediation_steps="Replace wildcard actions with the exact API actions each role needs.",
    types=(*IAM_DOCUMENT_TYPES, "aws:iam/role:Role"), check=_check,
)
