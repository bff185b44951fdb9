"""DynamoDB tables and their replicas have point-in-time recovery on (GDPR Art. 32(1)(c),
restore availability; CKV_AWS_28, DynamoDB.2) - except key stores, which must have it OFF
(Art. 17): a backup of a subject key would make its destruction (crypto-shredding) undoable for
the whole recovery period. Key stores are recognised by what they hold (components/tables.py)."""

from policy.rules._common import (
    TABLE, TABLE_REPLICA, EnforcementLevel, Severity, as_list, holds_subject_keys, resource_rule, truthy,
)


def _backed_up(args) -> bool:
    if args.resource_type == TABLE:
        return truthy((args.props.get("pointInTimeRecovery") or {}).get("enabled")) or any(
            truthy((r or {}).get("pointInTimeRecovery")) for r in as_list(args.props.get("replicas")))
    return truthy(args.props.get("pointInTimeRecovery"))


def _check(args):
    zone = holds_subject_keys(args.resource_type, args.props)
    if zone is not None:
        if _backed_up(args):
            yield (f"holds the subject keys of zone '{zone.name}' but has point-in-time recovery on: erased subjects "
                   "could be restored from the backup. Fix: set pointInTimeRecovery off on the key store and its replicas")
        return
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
    description="DynamoDB tables and replicas have point-in-time recovery enabled; key stores have it disabled.",
    article="Art. 32(1)(c)", title="Security of processing (restore availability)",
    severity=Severity.HIGH, level=EnforcementLevel.MANDATORY,
    remediation_steps=("Enable `pointInTimeRecovery` on tables and on every replica; disable it on subject-key "
                       "stores (appx-subject-keys-<zone>), whose keys must not outlive erasure."),
    types=(TABLE, TABLE_REPLICA), check=_check,
)
