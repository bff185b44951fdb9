"""Every restricted table (or replica) has, in the same stack and region, a field-encryption key
of its own residency zone, so the edge-encrypted fields can be decrypted where the data lives and
nowhere else (GDPR Art. 32 and Art. 25)."""

from policy.rules._common import (
    FIELD_ENCRYPTION, KMS_KEY, KMS_REPLICA_KEY, PURPOSE_TAG, TABLE, TABLE_REPLICA, ZONE_TAG, EnforcementLevel,
    Severity, data_class, resource_region, stack_rule, tags_of,
)
from policy.rules._lineage import copied_identity


def _restricted_zone(resource) -> str | None:
    """The zone of a restricted table (its tag) or of a replica (derived from the table it copies)."""
    if resource.resource_type == TABLE:
        return tags_of(resource.props).get(ZONE_TAG) if data_class(resource.props) == "restricted" else None
    identity = copied_identity(resource)
    return identity.zone if identity is not None and identity.data_class == "restricted" else None


def _check(args):
    keys = {}
    for r in args.resources:
        if r.resource_type in (KMS_KEY, KMS_REPLICA_KEY) and tags_of(r.props).get(PURPOSE_TAG) == FIELD_ENCRYPTION:
            keys.setdefault((tags_of(r.props).get(ZONE_TAG), resource_region(r)), []).append(r)
    for r in args.resources:
        zone = _restricted_zone(r) if r.resource_type in (TABLE, TABLE_REPLICA) else None
        if zone is None:
            continue
        region = resource_region(r)
        if (zone, region) not in keys:
            others = sorted({z for (z, reg) in keys if reg == region and z != zone})
            extra = f" (only keys of zone(s) {', '.join(others)} exist there)" if others else ""
            yield r, (f"holds restricted data of zone '{zone}' in {region} but this stack has no field-encryption "
                      f"key of zone '{zone}' in {region}{extra}. Fix: create the zone's kms.Key (home region) or "
                      f"kms.ReplicaKey tagged purpose={FIELD_ENCRYPTION}, residency-zone={zone} in {region}")


POLICY = stack_rule(
    name="restricted-table-zone-key",
    description="Every restricted table has a field-encryption key of its own zone in its region and stack.",
    article="Art. 32", title="Security of processing (encryption of restricted fields)",
    severity=Severity.CRITICAL, level=EnforcementLevel.MANDATORY,
    remediation_steps="Create the zone's field-encryption key or replica key next to each restricted table (same stack and region).",
    check=_check,
)
