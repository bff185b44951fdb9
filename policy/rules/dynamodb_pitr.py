"""DynamoDB tables and their replicas have point-in-time recovery on (GDPR Art. 32(1)(c),
restore availability; CKV_AWS_28, DynamoDB.2)."""

from policy.rules._common import TABLE, TABLE_REPLICA, EnforcementLevel, Severity, as_list, resource_rule, truthy


def _check(args):
    if args.resource_type == TABLE:
        if not truthy((args.props.get("pointInTimeRecovery") or {}).get("enabled")):
            yield "has point-in-time recovery off. Fix: set pointInTimeRecovery={enabled: true, recoveryPeriodInDays: N}"
        for i, replica in enumerate(as_list(args.props.get("replicas"))):
            if not truthy((replica or {}).get("pointInTimeRecovery")):
                yield (f"replicas[{i}] ({(replica or {}).get('regionName')}) has point-in-time recovery off. Fix: set "
                       "replicas[].pointInTimeRecovery=true")
    elif not truthy(args.props.get("pointInTimeRecovery")):
        yield "has point-in-time recovery off. Fix: set pointInTimeRecovery=true"


POLICY = resource_rule(
    name="dynamodb-pitr",
    description="DynamoDB tables and replicas have point-in-time recovery enabled.",
    article="Art. 32(1)(c)", title="Security of processing (restore availability)",
    severity=Severity.HIGH, level=EnforcementLevel.MANDATORY,
    remediation_steps="Enable `pointInTimeRecovery` on tables and on every replica.",
    types=(TABLE, TABLE_REPLICA), check=_check,
)
