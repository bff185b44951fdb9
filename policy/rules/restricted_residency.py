"""Restricted tables and their replicas stay inside the residency zone named by their
`residency-zone` tag (GDPR Art. 44; zones come from residency.yaml). Subject-key stores stay in the
zone whose keys they hold, whatever their tags say (components/tables.py)."""

from policy.rules._common import (
    TABLE, TABLE_REPLICA, ZONE_TAG, EnforcementLevel, Severity, as_list, data_class, holds_subject_keys, region_of,
    residency, resource_rule, tags_of,
)


def zone_problem(props):
    """(zone, None) or (None, problem) for a restricted resource's `residency-zone` tag."""
    zones = residency().zones
    name = tags_of(props).get(ZONE_TAG)
    if not name:
        return None, (f"holds restricted data but has no `{ZONE_TAG}` tag. Fix: tag it "
                      f"`{ZONE_TAG}=<zone>` with one of {', '.join(sorted(zones))} (residency.yaml)")
    if name not in zones:
        return None, (f"names unknown residency zone {name!r}. Fix: use one of {', '.join(sorted(zones))} "
                      "or add the zone to residency.yaml")
    return zones[name], None


def _check(args):
    zone = holds_subject_keys(args.resource_type, args.props)
    if zone is None:
        if data_class(args.props) != "restricted":
            return
        zone, problem = zone_problem(args.props)
        if problem:
            yield problem
            return
    allowed = ", ".join(zone.regions)
    region = region_of(args.props, args.provider)
    if region not in zone.regions:
        yield (f"is in {region}, outside residency zone '{zone.name}' ({allowed}). Fix: create it in a region "
               f"of zone '{zone.name}'")
    if args.resource_type == TABLE:
        for i, replica in enumerate(as_list(args.props.get("replicas"))):
            rname = (replica or {}).get("regionName")
            if rname not in zone.regions:
                yield (f"replicas[{i}] in {rname} leaves residency zone '{zone.name}' ({allowed}). Fix: remove "
                       f"the replica or move it to a region of zone '{zone.name}'")


POLICY = resource_rule(
    name="restricted-data-residency",
    description="Restricted tables and their replicas stay inside the residency zone they are tagged with.",
    article="Art. 44", title="General principle for transfers (residency zones)",
    severity=Severity.CRITICAL, level=EnforcementLevel.MANDATORY,
    remediation_steps=("Tag every restricted table and TableReplica with `residency-zone=<zone>` and create "
                       "replicas (inline `replicas` or `aws.dynamodb.TableReplica`) only in that zone's regions "
                       "as listed in residency.yaml."),
    types=(TABLE, TABLE_REPLICA), check=_check,
)
