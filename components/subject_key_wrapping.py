"""A residency zone's subject-key wrapping key: a symmetric KMS multi-Region key whose replicas
exist only in the zone's regions. It wraps every data subject's own AES-256 key (GenerateDataKey /
Decrypt with an encryption context naming the zone and a hash of the subject), so any region of
the zone can unwrap and no region outside can. Destroying a subject's wrapped key in the zone's
key store (components.tables.subject_keys_table) is what crypto-shreds the subject."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.residency import ResidencyZone

PURPOSE = "subject-key-wrapping"


@dataclass
class SubjectKeyWrappingArgs:
    zone: ResidencyZone
    # None: this cell is the zone's home and creates the primary key; else the primary's ARN.
    primary_key_arn: pulumi.Input[str] | None = None


class ZoneSubjectKeyWrapping(pulumi.ComponentResource):
    arn: pulumi.Output[str]

    def __init__(self, name: str, args: SubjectKeyWrappingArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("appx:security:ZoneSubjectKeyWrapping", name, None, opts)
        zone = args.zone
        tags = {"app": "appx", "purpose": PURPOSE, "residency-zone": zone.name}
        child = pulumi.ResourceOptions(parent=self)
        if args.primary_key_arn is None:
            key = aws.kms.Key(
                name,
                description=f"Application X subject-key wrapping, zone {zone.name} ({', '.join(zone.regions)})",
                key_usage="ENCRYPT_DECRYPT",
                multi_region=True,
                # Rotation keeps old key material, so wrapped subject keys stay openable.
                enable_key_rotation=True,
                deletion_window_in_days=30,
                tags=tags,
                opts=child,
            )
        else:
            key = aws.kms.ReplicaKey(
                name,
                primary_key_arn=args.primary_key_arn,
                description=f"Application X subject-key wrapping, zone {zone.name} replica",
                deletion_window_in_days=30,
                tags=tags,
                opts=child,
            )
        self.arn = key.arn
        self.register_outputs({"arn": self.arn})
