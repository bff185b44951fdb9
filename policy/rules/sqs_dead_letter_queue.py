"""Every queue that is not itself a dead-letter queue redrives failed messages to a DLQ (GDPR
Art. 32(1)(b)/(c): a poison message must not be lost or retried forever)."""

import json
from collections.abc import Mapping

from policy.rules._common import QUEUE, EnforcementLevel, Severity, conf, depends_on, int_schema, stack_rule

DEFAULT_MAX_RECEIVE = 10


def redrive(props) -> Mapping | None:
    value = props.get("redrivePolicy")
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return None
    return value if isinstance(value, Mapping) else None


def dlq_targets(queue, queues) -> list:
    """The queues of the stack that `queue`'s redrive policy points at."""
    policy = redrive(queue.props) or {}
    arn = str(policy.get("deadLetterTargetArn") or "")
    found = []
    for other in queues:
        if other.urn == queue.urn:
            continue
        name = other.props.get("name") or other.name
        if depends_on(queue, other) or (arn and name and arn.endswith(f":{name}")):
            found.append(other)
    return found


def dead_letter_queues(queues) -> set[str]:
    dlqs = {q.urn for q in queues if q.props.get("redriveAllowPolicy")}
    for q in queues:
        if redrive(q.props):
            dlqs.update(t.urn for t in dlq_targets(q, queues))
    return dlqs


def _check(args):
    queues = [r for r in args.resources if r.resource_type == QUEUE]
    dlqs = dead_letter_queues(queues)
    limit = int(conf(args, "maxReceiveCount", DEFAULT_MAX_RECEIVE))
    for q in queues:
        if q.urn in dlqs:
            continue
        policy = redrive(q.props)
        if not policy or not policy.get("deadLetterTargetArn"):
            yield q, ("has no dead-letter queue. Fix: set redrivePolicy={deadLetterTargetArn: <DLQ ARN>, "
                      f"maxReceiveCount: <= {limit}}} (or mark a DLQ with redriveAllowPolicy)")
            continue
        count = policy.get("maxReceiveCount")
        if isinstance(count, str) and count.isdigit():
            count = int(count)
        if isinstance(count, bool) or not isinstance(count, (int, float)) or not 1 <= count <= limit:
            yield q, f"has redrivePolicy.maxReceiveCount={count!r}. Fix: set it between 1 and {limit}"


POLICY = stack_rule(
    name="sqs-dead-letter-queue",
    description="Every SQS queue that is not a dead-letter queue has a redrive policy to one.",
    article="Art. 32(1)(b)", title="Security of processing (integrity and resilience)",
    severity=Severity.MEDIUM, level=EnforcementLevel.MANDATORY,
    remediation_steps="Create a DLQ (CMK-encrypted, classified like its source) and set redrivePolicy on the source queue.",
    check=_check,
    config_schema=int_schema("maxReceiveCount", DEFAULT_MAX_RECEIVE, 1, 1000,
                             "Largest allowed redrivePolicy.maxReceiveCount."),
)
