"""Point-in-time-recovery backups are kept for a bounded, explicit period, so an erased item is
gone from every backup within that period (GDPR Art. 5(1)(e) and Art. 17). DynamoDB's default is
35 days, so the period must be set explicitly."""

from policy.rules._common import TABLE, EnforcementLevel, Severity, conf, int_schema, num, resource_rule, truthy

DEFAULT_MAX_DAYS = 14


def _check(args):
    pitr = args.props.get("pointInTimeRecovery") or {}
    if not truthy(pitr.get("enabled")):
        return  # dynamodb-pitr reports that
    limit = int(conf(args, "maxRecoveryPeriodDays", DEFAULT_MAX_DAYS))
    days = pitr.get("recoveryPeriodInDays")
    if not days:
        yield (f"keeps PITR backups for the default 35 days. Fix: set pointInTimeRecovery.recoveryPeriodInDays "
               f"to at most {limit}")
    elif int(days) > limit:
        yield (f"keeps PITR backups {num(days)} days, more than the allowed {limit}. Fix: set "
               f"pointInTimeRecovery.recoveryPeriodInDays to at most {limit}")


POLICY = resource_rule(
    name="pitr-recovery-period",
    description="DynamoDB point-in-time recovery keeps backups no longer than the configured maximum.",
    article="Art. 5(1)(e)", title="Principles: storage limitation (erasure reaches backups)",
    severity=Severity.MEDIUM, level=EnforcementLevel.MANDATORY,
    remediation_steps="Set `pointInTimeRecovery.recoveryPeriodInDays` <= maxRecoveryPeriodDays (default 14).",
    types=(TABLE,), check=_check,
    config_schema=int_schema("maxRecoveryPeriodDays", DEFAULT_MAX_DAYS, 1, 35,
                             "Longest allowed PITR recovery period in days."),
)
