"""Restricted tables and their replicas stay inside the residency zone named by their
`residency-zone` tag (GDPR Art. 44; zones come from residency.yaml). Subject-key stores stay in the
zone whose keys they hold, whatever their tags say (components/tables.py)."""

from policy.rules._common import (
    KEY_MATERIAL, TABLE, TABLE_REPLICA, ZONE_TAG, EnforcementLevel, Severity, as_list, data_class, graph_rule,
    holds_subject_keys, read, residency, resource_region, tags_of,
)
from policy.rules._lineage import EVENT_SOURCE_MAPPING, copied_identity, copies_data


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


def _zone_of(resource):
    """(zone, None) or (None, problem). A copy's zone is derived from its source, a key store's from its name,
    an owner table's from its `residency-zone` tag (checked against the table layouts by data-class-propagation)."""
    if resource.resource_type == TABLE:
        key_store_zone = holds_subject_keys(TABLE, resource.props)  # what it holds, whatever its tags
        if key_store_zone is not None:
            return key_store_zone, None
        if data_class(resource.props) != "restricted":
            return None, None
        return zone_problem(resource.props)
    identity = copied_identity(resource)
    if identity is None:
        if not copies_data(resource):
            return None, None
        return None, ("copies a table that is not in the table layouts (components/tables.py), so its data class "
                      "and residency zone cannot be derived. Fix: add the table's TableSpec to components/tables.py "
                      "and create the copy from the owner's ARN")
    if identity.data_class not in ("restricted", KEY_MATERIAL):
        return None, None
    zones = residency().zones
    return zones[identity.zone], None


def _check(resource):
    zone, problem = _zone_of(resource)
    if problem:
        yield problem
    if zone is None:
        return
    allowed = ", ".join(zone.regions)
    region = resource_region(resource)
    if region not in zone.regions:
        yield (f"is in {region}, outside residency zone '{zone.name}' ({allowed}). Fix: create it in a region "
               f"of zone '{zone.name}'")
    if resource.resource_type == TABLE:
        for i, replica in enumerate(as_list(read(resource.props, "replicas"))):
            rname = read(replica, "regionName")
            if rname not in zone.regions:
                yield (f"replicas[{i}] in {rname} leaves residency zone '{zone.name}' ({allowed}). Fix: remove "
                       f"the replica or move it to a region of zone '{zone.name}'")


POLICY = graph_rule(
    name="restricted-data-residency",
    description=("Restricted tables, their replicas and the stream mappings that read them stay inside their "
                 "residency zone (a copy's zone is derived from what it copies)."),
    article="Art. 44", title="General principle for transfers (residency zones)",
    severity=Severity.CRITICAL, level=EnforcementLevel.MANDATORY,
    remediation_steps=("Tag every restricted table with `residency-zone=<zone>`; create its replicas (inline "
                       "`replicas` or `aws.dynamodb.TableReplica` from the owner's ARN) and the stream mappings that "
                       "read it only in that zone's regions as listed in residency.yaml."),
    types=(TABLE, TABLE_REPLICA, EVENT_SOURCE_MAPPING), check=_check,
)
