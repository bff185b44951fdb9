"""Queues holding personal or restricted data keep messages no longer than a configured maximum
(GDPR Art. 5(1)(e)). An unset `messageRetentionSeconds` is AWS's default of 4 days."""

from policy.rules._common import QUEUE, EnforcementLevel, Severity, conf, data_class, int_schema, resource_rule

SQS_DEFAULT_SECONDS = 345_600
DEFAULT_MAX_SECONDS = 345_600  # 4 days


def _check(args):
    if data_class(args.props) not in ("personal", "restricted"):
        return
    limit = int(conf(args, "maxMessageRetentionSeconds", DEFAULT_MAX_SECONDS))
    seconds = int(args.props.get("messageRetentionSeconds") or SQS_DEFAULT_SECONDS)
    if seconds > limit:
        yield (f"keeps {data_class(args.props)} messages {seconds} s, more than the allowed {limit} s. Fix: set "
               f"messageRetentionSeconds to at most {limit}")


POLICY = resource_rule(
    name="queue-retention",
    description="Queues holding personal data retain messages no longer than the configured maximum.",
    article="Art. 5(1)(e)", title="Principles: storage limitation",
    severity=Severity.MEDIUM, level=EnforcementLevel.MANDATORY,
    remediation_steps="Set `messageRetentionSeconds` <= maxMessageRetentionSeconds (default 345600 = 4 days).",
    types=(QUEUE,), check=_check,
    config_schema=int_schema("maxMessageRetentionSeconds", DEFAULT_MAX_SECONDS, 60, 1_209_600,
                             "Longest allowed message retention (seconds) for personal/restricted queues."),
)
