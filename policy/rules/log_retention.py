"""CloudWatch log groups keep logs for a bounded time (GDPR Art. 5(1)(e), storage limitation;
CKV_AWS_66/338). Without `retentionInDays` logs are kept forever. Remediable: the remediation sets
the longest CloudWatch-supported retention not above the configured maximum."""

from components.config import LOG_RETENTION_DAYS

from policy.rules._common import (
    LOG_GROUP, EnforcementLevel, PolicyConfigSchema, Severity, conf, num, plain, raw_unknown, resource_rule,
)

DEFAULT_MAX_DAYS = 30


def max_days(args) -> int:
    return int(conf(args, "maxRetentionDays", DEFAULT_MAX_DAYS))


def _check(args):
    limit = max_days(args)
    days = args.props.get("retentionInDays")
    if not days:
        yield f"keeps logs forever (no retentionInDays). Fix: set retentionInDays to at most {limit}"
    elif int(days) > limit:
        yield f"keeps logs {num(days)} days, more than the allowed {limit}. Fix: set retentionInDays to at most {limit}"


def remediated_days(limit: int) -> int:
    allowed = [d for d in LOG_RETENTION_DAYS if d <= limit]
    return max(allowed) if allowed else min(LOG_RETENTION_DAYS)


def _remediate(args):
    if args.resource_type != LOG_GROUP:
        return None
    limit = max_days(args)
    days = args.props.get("retentionInDays")
    if raw_unknown(days) or (days and int(days) <= limit):  # unknown: the validation fails closed
        return None
    props = plain(args.props)
    props["retentionInDays"] = remediated_days(limit)
    return props


POLICY = resource_rule(
    name="log-retention",
    description="CloudWatch log groups have a retention period no longer than the configured maximum.",
    article="Art. 5(1)(e)", title="Principles: storage limitation",
    severity=Severity.MEDIUM, level=EnforcementLevel.REMEDIATE,
    remediation_steps="Set `retentionInDays` to a CloudWatch value <= maxRetentionDays (default 30); remediated automatically.",
    types=(LOG_GROUP,), check=_check, remediate=_remediate,
    config_schema=PolicyConfigSchema(properties={"maxRetentionDays": {
        "type": "integer", "default": DEFAULT_MAX_DAYS, "enum": list(LOG_RETENTION_DAYS),
        "description": "Longest allowed log retention in days (a CloudWatch-supported value)."}}),
)
