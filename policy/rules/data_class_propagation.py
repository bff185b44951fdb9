"""Data keeps its classification when it flows: a table replica has its table's class, a DLQ is
classified at least as high as the queues that redrive into it, and a replica key keeps its
primary key's zone (GDPR Art. 30: no personal-data resource without a classification, and the
record of processing stays true)."""

from policy.rules._common import (
    KMS_KEY, KMS_REPLICA_KEY, QUEUE, TABLE, TABLE_REPLICA, ZONE_TAG, EnforcementLevel, Severity, data_class,
    depends_on, rank, stack_rule, tags_of,
)
from policy.rules.sqs_dead_letter_queue import dlq_targets, redrive


def _check(args):
    resources = args.resources
    tables = [r for r in resources if r.resource_type == TABLE]
    for replica in (r for r in resources if r.resource_type == TABLE_REPLICA):
        for table in tables:
            if depends_on(replica, table) and data_class(replica.props) != data_class(table.props):
                yield replica, (f"replicates {table.name!r} (data-class {data_class(table.props)}) but is tagged "
                                f"data-class {data_class(replica.props)}. Fix: tag the replica "
                                f"data-class={data_class(table.props)}")
            if depends_on(replica, table) and tags_of(replica.props).get(ZONE_TAG) != tags_of(table.props).get(ZONE_TAG):
                yield replica, (f"replicates {table.name!r} of zone {tags_of(table.props).get(ZONE_TAG)!r} but is tagged "
                                f"zone {tags_of(replica.props).get(ZONE_TAG)!r}. Fix: copy the table's residency-zone tag")
    queues = [r for r in resources if r.resource_type == QUEUE]
    for source in queues:
        if not redrive(source.props) or data_class(source.props) is None:
            continue
        for dlq in dlq_targets(source, queues):
            if rank(data_class(dlq.props)) < rank(data_class(source.props)):
                yield dlq, (f"receives failed messages of {source.name!r} (data-class {data_class(source.props)}) but is "
                            f"classified {data_class(dlq.props)}. Fix: tag the DLQ data-class={data_class(source.props)}")
    primaries = [r for r in resources if r.resource_type == KMS_KEY]
    for replica in (r for r in resources if r.resource_type == KMS_REPLICA_KEY):
        for primary in primaries:
            if depends_on(replica, primary) and tags_of(replica.props).get(ZONE_TAG) != tags_of(primary.props).get(ZONE_TAG):
                yield replica, (f"replicates key {primary.name!r} of zone {tags_of(primary.props).get(ZONE_TAG)!r} but is "
                                f"tagged zone {tags_of(replica.props).get(ZONE_TAG)!r}. Fix: copy the primary key's "
                                "residency-zone tag")


POLICY = stack_rule(
    name="data-class-propagation",
    description="Replicas and dead-letter queues carry at least the classification (and zone) of their source.",
    article="Art. 30", title="Records of processing activities",
    severity=Severity.HIGH, level=EnforcementLevel.MANDATORY,
    remediation_steps="Tag replicas and DLQs with the data-class (and residency-zone) of the resource they copy.",
    check=_check,
)
