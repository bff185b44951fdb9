"""Inline replicas of every DynamoDB table (personal and public ones too) are in EU regions
(GDPR Art. 44). `eu-regions` checks the table's own region; replicas are a separate region list."""

from policy.rules._common import TABLE, EU_REGIONS, EnforcementLevel, Severity, as_list, resource_rule


def _check(args):
    for i, replica in enumerate(as_list(args.props.get("replicas"))):
        region = (replica or {}).get("regionName")
        if region not in EU_REGIONS:
            yield (f"replicas[{i}] is in {region}, outside the EU. Fix: remove the replica or use one of "
                   f"{', '.join(sorted(EU_REGIONS))}")


POLICY = resource_rule(
    name="table-replicas-in-eu",
    description="DynamoDB global table replicas of personal and public tables stay inside the EU.",
    article="Art. 44", title="General principle for transfers",
    severity=Severity.CRITICAL, level=EnforcementLevel.MANDATORY,
    remediation_steps="List only EU regions in a table's `replicas[].regionName`.",
    types=(TABLE,), check=_check,
)
