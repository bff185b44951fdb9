"""Data keeps its classification when it flows: a table replica has its table's class, a DLQ is
classified at least as high as the queues that redrive into it, and a replica key keeps its
primary key's zone (GDPR Art. 30: no personal-data resource without a classification, and the
record of processing stays true)."""

from policy.rules._common import (
    DATA_CLASS_TAG, QUEUE, ZONE_TAG, EnforcementLevel, Severity, data_class, rank, stack_rule, tags_of,
)
from policy.rules._lineage import copied_identity
from policy.rules.sqs_dead_letter_queue import dlq_targets, redrive


def _label_problems(resource):
    """A copy's tags that disagree with what it copies (its identity is derived, the tags are labels)."""
    identity = copied_identity(resource)
    if identity is None:
        return
    tags = tags_of(resource.props)
    if DATA_CLASS_TAG in tags and tags[DATA_CLASS_TAG] != identity.data_class:
        yield (f"is tagged {DATA_CLASS_TAG}={tags[DATA_CLASS_TAG]} but copies {identity.source}, whose data class is "
               f"{identity.data_class}. Fix: tag it {DATA_CLASS_TAG}={identity.data_class} (the class of its source)")
    if ZONE_TAG in tags and identity.zones and tags[ZONE_TAG] not in identity.zones:
        derived = " or ".join(identity.zones)
        yield (f"is tagged {ZONE_TAG}={tags[ZONE_TAG]} but copies {identity.source}, whose residency zone is "
               f"{derived}. Fix: tag it {ZONE_TAG}={derived} (the zone of its source)")
    elif ZONE_TAG in tags and not identity.zones:
        yield (f"is tagged {ZONE_TAG}={tags[ZONE_TAG]} but copies {identity.source}, which holds no restricted data "
               f"of any zone. Fix: remove the {ZONE_TAG} tag")


def _check(args):
    for resource in args.resources:
        for problem in _label_problems(resource):
            yield resource, problem
    queues = [r for r in args.resources if r.resource_type == QUEUE]
    for source in queues:
        if not redrive(source.props) or data_class(source.props) is None:
            continue
        for dlq in dlq_targets(source, queues):
            if rank(data_class(dlq.props)) < rank(data_class(source.props)):
                yield dlq, (f"receives failed messages of {source.name!r} (data-class {data_class(source.props)}) but is "
                            f"classified {data_class(dlq.props)}. Fix: tag the DLQ data-class={data_class(source.props)}")


POLICY = stack_rule(
    name="data-class-propagation",
    description=("Copies (table replicas, replica keys, stream mappings) are labelled with the class and zone "
                 "derived from their source; dead-letter queues are classified at least as high as their source."),
    article="Art. 30", title="Records of processing activities",
    severity=Severity.HIGH, level=EnforcementLevel.MANDATORY,
    remediation_steps=("Tag replicas, replica keys and stream mappings with the data-class and residency-zone of "
                       "what they copy (or not at all), and DLQs with at least their source queue's data-class."),
    check=_check,
)
