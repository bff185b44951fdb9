"""Every data-bearing resource carries a valid `data-class` tag (GDPR Art. 30: the record of
processing is generated from these tags)."""

from policy.rules._common import (
    DATA_BEARING, DATA_CLASS_TAG, DATA_CLASSES, EnforcementLevel, Severity, resource_rule, tags_of,
)


def _check(args):
    value = tags_of(args.props).get(DATA_CLASS_TAG)
    if value is None:
        yield (f"has no `{DATA_CLASS_TAG}` tag. Fix: tag it `{DATA_CLASS_TAG}=` one of "
               f"{', '.join(DATA_CLASSES)}")
    elif value not in DATA_CLASSES:
        yield f"has invalid `{DATA_CLASS_TAG}={value}`. Fix: use one of {', '.join(DATA_CLASSES)}"


POLICY = resource_rule(
    name="data-classification",
    description="Every data-bearing resource (tables, replicas, queues, log groups, buckets, topics, streams) is classified.",
    article="Art. 30", title="Records of processing activities",
    severity=Severity.HIGH, level=EnforcementLevel.MANDATORY,
    remediation_steps="Add the tag `data-class` with value restricted, personal or public.",
    types=DATA_BEARING, check=_check,
)
