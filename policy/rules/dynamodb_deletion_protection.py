"""DynamoDB tables and their replicas have deletion protection on (GDPR Art. 32(1)(b)/(c),
integrity and availability; DynamoDB.6). A stray `pulumi destroy` must not erase user data."""

from policy.rules._common import TABLE, TABLE_REPLICA, EnforcementLevel, Severity, as_list, resource_rule, truthy


def _check(args):
    if not truthy(args.props.get("deletionProtectionEnabled")):
        yield "has deletion protection off. Fix: set deletionProtectionEnabled=true"
    if args.resource_type == TABLE:
        for i, replica in enumerate(as_list(args.props.get("replicas"))):
            if not truthy((replica or {}).get("deletionProtectionEnabled")):
                yield (f"replicas[{i}] ({(replica or {}).get('regionName')}) has deletion protection off. Fix: set "
                       "replicas[].deletionProtectionEnabled=true")


POLICY = resource_rule(
    name="dynamodb-deletion-protection",
    description="DynamoDB tables and replicas have deletion protection enabled.",
    article="Art. 32(1)(b)", title="Security of processing (integrity and availability)",
    severity=Severity.HIGH, level=EnforcementLevel.MANDATORY,
    remediation_steps="Set `deletionProtectionEnabled: true` on tables and every replica.",
    types=(TABLE, TABLE_REPLICA), check=_check,
)
