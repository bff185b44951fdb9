"""Every data-bearing resource carries a valid `data-class` tag (GDPR Art. 30: the record of
processing is generated from these tags). A key store (components/tables.py) is recognised by what
it holds and must say so: `data-class=key-material`."""

from policy.rules._common import (
    DATA_BEARING, DATA_CLASS_TAG, DATA_CLASSES, KEY_MATERIAL, EnforcementLevel, Severity, holds_subject_keys,
    resource_rule, tags_of,
)


def _check(args):
    value = tags_of(args.props).get(DATA_CLASS_TAG)
    zone = holds_subject_keys(args.resource_type, args.props)
    if zone is not None and value != KEY_MATERIAL:
        yield (f"holds the subject keys of zone '{zone.name}' (components/tables.py) but is tagged "
               f"`{DATA_CLASS_TAG}={value}`. Fix: tag it `{DATA_CLASS_TAG}={KEY_MATERIAL}`")
        return
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
    remediation_steps="Add the tag `data-class` with value restricted, personal, public or key-material (key stores only).",
    types=DATA_BEARING, check=_check,
)
