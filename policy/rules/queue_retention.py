"""Queues holding personal or restricted data keep messages no longer than a configured maximum
(GDPR Art. 5(1)(e)). An unset `messageRetentionSeconds` is AWS's default of 4 days.

Dead-letter queues have their own, longer maximum: a standard queue's DLQ keeps each message's
original enqueue time (SQS Developer Guide, dead-letter queues), so it must retain longer than
its source or a redriven message expires on arrival; `sqs-dead-letter-queue` checks that."""

from pulumi_policy import PolicyConfigSchema

from policy.rules._common import QUEUE, EnforcementLevel, Severity, conf, data_class, int_schema, stack_rule
from policy.rules.sqs_dead_letter_queue import dead_letter_queues, retention_seconds

DEFAULT_MAX_SECONDS = 345_600  # 4 days
DEFAULT_MAX_DEAD_LETTER_SECONDS = 1_209_600  # 14 days, SQS's maximum


def _check(args):
    queues = [r for r in args.resources if r.resource_type == QUEUE]
    dead_letter = dead_letter_queues(queues, args.resources)
    limits = {
        False: ("maxMessageRetentionSeconds", int(conf(args, "maxMessageRetentionSeconds", DEFAULT_MAX_SECONDS))),
        True: ("maxDeadLetterRetentionSeconds", int(conf(args, "maxDeadLetterRetentionSeconds", DEFAULT_MAX_DEAD_LETTER_SECONDS))),
    }
    for queue in queues:
        cls = data_class(queue.props)
        if cls not in ("personal", "restricted"):
            continue
        key, limit = limits[queue.urn in dead_letter]
        seconds = retention_seconds(queue)
        if seconds > limit:
            kind = "dead-letter queue" if queue.urn in dead_letter else "queue"
            yield queue, (f"{kind} keeps {cls} messages {seconds} s, more than the allowed {limit} s ({key}). Fix: set "
                          f"messageRetentionSeconds to at most {limit}")


def _schema() -> PolicyConfigSchema:
    properties = {}
    for key, default, description in [
        ("maxMessageRetentionSeconds", DEFAULT_MAX_SECONDS, "Longest allowed message retention (seconds) for personal/restricted queues."),
        ("maxDeadLetterRetentionSeconds", DEFAULT_MAX_DEAD_LETTER_SECONDS,
         "Longest allowed message retention (seconds) for personal/restricted dead-letter queues."),
    ]:
        properties.update(int_schema(key, default, 60, 1_209_600, description).properties)
    return PolicyConfigSchema(properties=properties)


POLICY = stack_rule(
    name="queue-retention",
    description="Queues holding personal data retain messages no longer than the configured maximum (dead-letter queues: their own maximum).",
    article="Art. 5(1)(e)", title="Principles: storage limitation",
    severity=Severity.MEDIUM, level=EnforcementLevel.MANDATORY,
    remediation_steps="Set `messageRetentionSeconds` <= maxMessageRetentionSeconds (default 345600 = 4 days); "
                      "on a dead-letter queue <= maxDeadLetterRetentionSeconds (default 1209600 = 14 days).",
    check=_check,
    config_schema=_schema(),
)
