"""No legacy (2017.11.29) DynamoDB global tables (GDPR Art. 44/32). `aws.dynamodb.GlobalTable`
stitches existing tables together outside the residency rules' view, and its replicas cannot be
encrypted with a regional CMK each; the current version (`Table` with `replicas`, or
`TableReplica`) is what the residency and encryption rules check."""

from policy.rules._common import GLOBAL_TABLE_LEGACY, EnforcementLevel, Severity, resource_rule


def _check(args):
    regions = sorted(r.get("regionName", "?") for r in (args.props.get("replicas") or []))
    yield (f"is a legacy global table (replicas {', '.join(regions) or 'none'}). Fix: use aws.dynamodb.Table with "
           "`replicas` or aws.dynamodb.TableReplica (global tables version 2019.11.21), one CMK per replica")


POLICY = resource_rule(
    name="dynamodb-no-legacy-global-table",
    description="DynamoDB global tables use the current version (Table replicas), never the legacy GlobalTable resource.",
    article="Art. 44", title="General principle for transfers",
    severity=Severity.HIGH, level=EnforcementLevel.MANDATORY,
    remediation_steps="Replace aws.dynamodb.GlobalTable by a Table with `replicas` (or TableReplica resources) inside the allowed regions.",
    types=(GLOBAL_TABLE_LEGACY,), check=_check,
)
