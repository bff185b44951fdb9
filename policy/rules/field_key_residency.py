"""Field-encryption keys (the KMS multi-Region RSA key of a zone and its replicas) and subject-key
wrapping keys (symmetric, multi-Region) live only in the regions of their zone, so no region outside
the zone can decrypt (GDPR Art. 44, Art. 32)."""

from policy.rules._common import (
    FIELD_ENCRYPTION, KMS_KEY, KMS_REPLICA_KEY, PURPOSE_TAG, ZONE_KEY_PURPOSES, EnforcementLevel, Severity, region_of,
    resource_rule, tags_of,
)
from policy.rules.restricted_residency import zone_problem


def _check(args):
    if args.resource_type == KMS_KEY and tags_of(args.props).get(PURPOSE_TAG) not in ZONE_KEY_PURPOSES:
        return
    if args.resource_type == KMS_REPLICA_KEY and tags_of(args.props).get(PURPOSE_TAG) not in ZONE_KEY_PURPOSES \
            and "residency-zone" not in tags_of(args.props):
        yield (f"is a replica key without `{PURPOSE_TAG}` / `residency-zone` tags, so its residency cannot be "
               f"checked. Fix: tag it `{PURPOSE_TAG}={FIELD_ENCRYPTION}` and `residency-zone=<zone>`")
        return
    zone, problem = zone_problem(args.props)
    if problem:
        yield problem.replace("holds restricted data", "is a field-encryption key")
        return
    region = region_of(args.props, args.provider)
    if region not in zone.regions:
        yield (f"is in {region}, outside residency zone '{zone.name}' ({', '.join(zone.regions)}): that region "
               f"could decrypt the zone's restricted fields. Fix: replicate the key only into regions of zone "
               f"'{zone.name}'")


POLICY = resource_rule(
    name="field-key-residency",
    description="Field-encryption keys and their replicas exist only in the regions of their residency zone.",
    article="Art. 44", title="General principle for transfers (residency zones)",
    severity=Severity.CRITICAL, level=EnforcementLevel.MANDATORY,
    remediation_steps=("Create `aws.kms.ReplicaKey`s of a zone's field-encryption key only through providers "
                       "of that zone's regions; tag keys `purpose=field-encryption`, `residency-zone=<zone>`."),
    types=(KMS_KEY, KMS_REPLICA_KEY), check=_check,
)
