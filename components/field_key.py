"""A residency zone's field-encryption key: a KMS multi-Region RSA key whose replicas exist
only in the zone's regions, so any region of the zone can decrypt and no region outside can."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.residency import ResidencyZone

KEY_SPEC = "RSA_3072"


def alias(zone: str) -> str:
    """The alias of a zone's field key (and of each replica, in its region): IAM documents name the key by it."""
    return f"alias/appx-field-{zone}"


@dataclass
class FieldKeyArgs:
    zone: ResidencyZone
    # None: this cell is the zone's home and creates the primary key; else the primary's ARN.
    primary_key_arn: pulumi.Input[str] | None = None


class ZoneFieldKey(pulumi.ComponentResource):
    arn: pulumi.Output[str]
    key_id: pulumi.Output[str]
    public_key_pem: pulumi.Output[str] | None

    def __init__(self, name: str, args: FieldKeyArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("appx:security:ZoneFieldKey", name, None, opts)
        zone = args.zone
        tags = {"app": "appx", "purpose": "field-encryption", "residency-zone": zone.name, "data-class": "restricted"}
        child = pulumi.ResourceOptions(parent=self)
        if args.primary_key_arn is None:
            key = aws.kms.Key(
                name,
                description=f"Application X field encryption, zone {zone.name} ({', '.join(zone.regions)})",
                customer_master_key_spec=KEY_SPEC,
                key_usage="ENCRYPT_DECRYPT",
                multi_region=True,
                deletion_window_in_days=30,
                tags=tags,
                opts=child,
            )
            self.arn, self.key_id = key.arn, key.key_id
            # The edge encrypts with the public half; it is bundled into the edge function's config.
            self.public_key_pem = aws.kms.get_public_key_output(key_id=key.arn, opts=pulumi.InvokeOutputOptions(parent=self)).public_key_pem
        else:
            replica = aws.kms.ReplicaKey(
                name,
                primary_key_arn=args.primary_key_arn,
                description=f"Application X field encryption, zone {zone.name} replica",
                deletion_window_in_days=30,
                tags=tags,
                opts=child,
            )
            self.arn, self.key_id = replica.arn, replica.key_id
            self.public_key_pem = None
        aws.kms.Alias(name, name=alias(zone.name), target_key_id=self.key_id, opts=child)
        self.register_outputs({"arn": self.arn, "keyId": self.key_id})
