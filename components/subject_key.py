"""A residency zone's subject-reference key: a KMS multi-Region HMAC key whose replicas exist only
in the zone's regions. The functions derive from it (one ``GenerateMac`` per execution
environment) the key of the keyed hashes that name erased subjects (tombstones, erasure jobs,
idempotency records), so a tombstone identifies nobody to whoever lacks the key."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.residency import ResidencyZone

KEY_SPEC = "HMAC_256"


def alias(zone: str) -> str:
    """The alias of the zone's key (and of each replica, in its region): IAM documents name the key by it."""
    return f"alias/appx-subject-ref-{zone}"


@dataclass
class SubjectKeyArgs:
    zone: ResidencyZone
    # None: this cell is the zone's home and creates the primary key; else the primary's ARN.
    primary_key_arn: pulumi.Input[str] | None = None


class ZoneSubjectKey(pulumi.ComponentResource):
    arn: pulumi.Output[str]

    def __init__(self, name: str, args: SubjectKeyArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("appx:security:ZoneSubjectKey", name, None, opts)
        zone = args.zone
        tags = {"app": "appx", "purpose": "subject-reference", "residency-zone": zone.name, "data-class": "restricted"}
        child = pulumi.ResourceOptions(parent=self)
        description = f"Application X subject references (tombstones), zone {zone.name}"
        if args.primary_key_arn is None:
            key = aws.kms.Key(
                name, description=f"{description} ({', '.join(zone.regions)})", customer_master_key_spec=KEY_SPEC,
                key_usage="GENERATE_VERIFY_MAC", multi_region=True, deletion_window_in_days=30, tags=tags, opts=child,
            )
        else:
            key = aws.kms.ReplicaKey(
                name, primary_key_arn=args.primary_key_arn, description=f"{description} replica",
                deletion_window_in_days=30, tags=tags, opts=child,
            )
        self.arn = key.arn
        aws.kms.Alias(name, name=alias(zone.name), target_key_id=key.key_id, opts=child)
        self.register_outputs({"arn": self.arn})
