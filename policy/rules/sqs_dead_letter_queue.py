"""Every queue that is not itself a dead-letter queue redrives failed messages to a DLQ (GDPR
Art. 32(1)(b)/(c): a poison message must not be lost or retried forever)."""

import json
from collections.abc import Mapping

from policy.rules._common import (
    QUEUE, EnforcementLevel, Severity, Unknown, conf, depends_on, int_schema, num, read, stack_rule, undecidable,
)

NAME = "sqs-dead-letter-queue"

DEFAULT_MAX_RECEIVE = 10


def redrive(props) -> Mapping | Unknown | None:
    """The redrive policy as a mapping; `Unknown` at preview if the program computes it from an output."""
    value = read(props, "redrivePolicy")
    if isinstance(value, Unknown):
        return value
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return None
    return value if isinstance(value, Mapping) else None


def dlq_targets(queue, queues) -> list:
    """The queues of the stack that `queue`'s redrive policy points at."""
    policy = redrive(queue.props) or {}
    arn = "" if isinstance(policy, Unknown) else str(read(policy, "deadLetterTargetArn") or "")
    found = []
    for other in queues:
        if other.urn == queue.urn:
            continue
        name = other.props.get("name") or other.name
        if depends_on(queue, other) or (arn and name and arn.endswith(f":{name}")):
            found.append(other)
    return found


REDRIVE_POLICY = "aws:sqs/redrivePolicy:RedrivePolicy"
REDRIVE_ALLOW_POLICY = "aws:sqs/redriveAllowPolicy:RedriveAllowPolicy"


def _queue_of(policy_resource, queues):
    """The queue a standalone RedrivePolicy / RedriveAllowPolicy resource applies to."""
    url = read(policy_resource.props, "queueUrl")  # unknown at preview: matched by dependency below
    url = url if isinstance(url, str) else ""
    for q in queues:
        name = q.props.get("name") or q.name
        if url and name and url.endswith(f"/{name}"):
            return q
    deps = [q for q in queues if depends_on(policy_resource, q)]
    return deps[0] if len(deps) == 1 else None


def effective_redrive(queue, resources, queues) -> Mapping | None:
    """The queue's redrive policy: inline, or from a standalone aws.sqs.RedrivePolicy."""
    inline = redrive(queue.props)
    if inline:
        return inline
    for r in resources:
        if r.resource_type == REDRIVE_POLICY and _queue_of(r, queues) is queue:
            return redrive(r.props)
    return None


def dead_letter_queues(queues, resources=()) -> set[str]:
    dlqs = {q.urn for q in queues if read(q.props, "redriveAllowPolicy")}
    for r in resources:
        if r.resource_type == REDRIVE_ALLOW_POLICY:
            q = _queue_of(r, queues)
            if q is not None:
                dlqs.add(q.urn)
    for q in queues:
        if redrive(q.props):
            dlqs.update(t.urn for t in dlq_targets(q, queues))
    return dlqs


def _check(args):
    queues = [r for r in args.resources if r.resource_type == QUEUE]
    dlqs = dead_letter_queues(queues, args.resources)
    limit = int(conf(args, "maxReceiveCount", DEFAULT_MAX_RECEIVE))
    for q in queues:
        if q.urn in dlqs:
            continue
        policy = effective_redrive(q, args.resources, queues)
        if isinstance(policy, Unknown):
            yield q, undecidable(policy, NAME)
            continue
        if not policy or not policy.get("deadLetterTargetArn"):
            yield q, ("has no dead-letter queue. Fix: set redrivePolicy={deadLetterTargetArn: <DLQ ARN>, "
                      f"maxReceiveCount: <= {limit}}} (or mark a DLQ with redriveAllowPolicy)")
            continue
        count = policy.get("maxReceiveCount")
        if isinstance(count, str) and count.isdigit():
            count = int(count)
        if isinstance(count, bool) or not isinstance(count, (int, float)) or not 1 <= count <= limit:
            yield q, f"has redrivePolicy.maxReceiveCount={num(count)!r}. Fix: set it between 1 and {limit}"


POLICY = stack_rule(
    name=NAME,
    description="Every SQS queue that is not a dead-letter queue has a redrive policy to one.",
    article="Art. 32(1)(b)", title="Security of processing (integrity and resilience)",
    severity=Severity.MEDIUM, level=EnforcementLevel.MANDATORY,
    remediation_steps="Create a DLQ (CMK-encrypted, classified like its source) and set redrivePolicy on the source queue.",
    check=_check,
    config_schema=int_schema("maxReceiveCount", DEFAULT_MAX_RECEIVE, 1, 1000,
                             "Largest allowed redrivePolicy.maxReceiveCount."),
)
