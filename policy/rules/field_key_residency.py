"""Field-encryption keys (the KMS multi-Region RSA key of a zone and its replicas) and subject-key
wrapping keys (symmetric, multi-Region) live only in the regions of their zone, so no region outside
the zone can decrypt (GDPR Art. 44, Art. 32)."""

from policy.rules._common import (
    KMS_KEY, KMS_REPLICA_KEY, PURPOSE_TAG, ZONE_KEY_PURPOSES, EnforcementLevel, Severity, graph_rule,
    residency, resource_region, tags_of,
)
from policy.rules._lineage import copied_identity
from policy.rules.restricted_residency import zone_problem


def _check(resource):
    if resource.resource_type == KMS_KEY:
        if tags_of(resource.props).get(PURPOSE_TAG) not in ZONE_KEY_PURPOSES:
            return
        zone, problem = zone_problem(resource.props)
        if problem:
            yield problem.replace("holds restricted data", "is a field-encryption key")
            return
        zones = [zone]
    else:  # a replica key belongs to the zone of the key it replicates, whatever it is tagged
        identity = copied_identity(resource)
        if identity is None or not identity.zones:
            yield ("replicates a key whose residency zone cannot be derived (neither a field key of this stack nor "
                   "a primary in a zone's home region, residency.yaml). Fix: create replica keys only from a "
                   "zone's field key (primaryKeyArn = the home cell's fieldKeyArn)")
            return
        zones = [residency().zones[z] for z in identity.zones]
    region = resource_region(resource)
    if not any(region in zone.regions for zone in zones):
        names = ", ".join(f"'{z.name}' ({', '.join(z.regions)})" for z in zones)
        yield (f"is in {region}, outside residency zone {names}: that region could decrypt the zone's restricted "
               f"fields. Fix: replicate the key only into regions of its zone")


POLICY = graph_rule(
    name="field-key-residency",
    description="Field-encryption keys and their replicas exist only in the regions of their residency zone.",
    article="Art. 44", title="General principle for transfers (residency zones)",
    severity=Severity.CRITICAL, level=EnforcementLevel.MANDATORY,
    remediation_steps=("Create `aws.kms.ReplicaKey`s of a zone's field-encryption key only through providers "
                       "of that zone's regions; tag keys `purpose=field-encryption`, `residency-zone=<zone>`."),
    types=(KMS_KEY, KMS_REPLICA_KEY), check=_check,
)
