"""DynamoDB and KMS data actions are granted on named resources, never on `*` (GDPR Art. 25;
a role that may read every table or use every key defeats the residency zones)."""

from collections.abc import Mapping

from policy.rules._common import (
    IAM_DOCUMENT_TYPES, EnforcementLevel, Severity, Unknown, as_list, iam_documents, policy_statements, read,
    resource_rule, undecidable,
)

NAME = "iam-data-actions-scoped"

DATA_SERVICES = ("dynamodb:", "kms:")


def wildcard_resources(statement) -> list[str]:
    """Resources of a statement that are not one named table or key: `*`, or an ARN whose table name or
    key id holds a wildcard. A key wildcard narrowed by a `kms:ResourceAliases` condition (AWS KMS
    attribute-based access control) names the keys with those aliases and counts as named. An unknown
    Resource is an output of a resource (its ARN): named."""
    aliased = _conditions_on(statement, "kms:resourcealiases")
    out = []
    for resource in as_list(statement.get("Resource")):
        if not isinstance(resource, str):
            continue
        parts = resource.split(":", 5)
        resource_id = parts[5].split("/") if len(parts) == 6 else [resource]
        named = resource_id[1] if len(resource_id) > 1 else resource_id[0]
        if resource == "*" or ("*" in named and not (parts[2:3] == ["kms"] and aliased)):
            out.append(resource)
    return out


def _conditions_on(statement, key: str) -> bool:
    """Whether the statement's Condition tests `key` (lower case) under any operator."""
    condition = read(statement, "Condition")
    if not isinstance(condition, Mapping):
        return False
    operands = (read(condition, operator) for operator in condition)
    return any(isinstance(o, Mapping) and any(str(k).lower() == key for k in o) for o in operands)


def _check(args):
    for where, doc in iam_documents(args.resource_type, args.props):
        for i, st in enumerate(policy_statements(doc)):
            if st.get("Effect") != "Allow":
                continue
            actions = as_list(st.get("Action"))
            yield from (undecidable(a, NAME) for a in actions if isinstance(a, Unknown))
            data = [a for a in actions if isinstance(a, str) and a.lower().startswith(DATA_SERVICES)]
            if not data:
                continue
            if st.get("NotResource") is not None:
                yield (f"{where} statement {st.get('Sid') or i} allows {data} on NotResource, i.e. on every other "
                       "resource. Fix: name the table/index/stream ARNs or key ARNs in Resource")
            wild = wildcard_resources(st)
            if wild:
                yield (f"{where} statement {st.get('Sid') or i} allows {data} on {wild}. Fix: name the "
                       "table/index/stream ARNs or key ARNs (a key wildcard only with a kms:ResourceAliases condition)")


POLICY = resource_rule(
    name=NAME,
    description="DynamoDB and KMS actions in IAM policies are scoped to named resources.",
    article="Art. 25", title="Data protection by design and by default",
    severity=Severity.HIGH, level=EnforcementLevel.MANDATORY,
    remediation_steps=("Replace Resource \"*\" (or a wildcard table/key) on dynamodb:/kms: actions with the specific "
                       "table and key ARNs, or name keys by alias: key/* with a kms:ResourceAliases condition."),
    types=(*IAM_DOCUMENT_TYPES, "aws:iam/role:Role"), check=_check,
)
