"""A residency zone's KMS multi-Region key: the primary in the zone's home region, a replica in
every other region of the zone, so any region of the zone can use it and no region outside can.

Each zone has three (docs/token-format.md):
* FIELD_ENCRYPTION (RSA): the edge seals sensitive fields with its public half; the API unwraps
  a write's data key once and reseals the fields under the subject's key.
* SUBJECT_KEY_WRAPPING (symmetric): wraps every data subject's own AES-256 key. Destroying a
  subject's wrapped key in the zone's key store (components.tables.subject_keys_table) is what
  crypto-shreds the subject.
* SUBJECT_REFERENCE (HMAC): keys the hashes that name erased subjects (tombstones, erasure jobs,
  idempotency records), so a tombstone identifies nobody to whoever lacks the key.

IAM documents name each key by its alias (`alias/<prefix>-<zone>`, the same in every region of the
zone), since key ids are unknown until the key exists (components/arns.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.residency import ResidencyZone


@dataclass(frozen=True)
class ZoneKeyKind:
    purpose: str  # the `purpose` tag, which the policy pack reads
    title: str
    alias_prefix: str
    key_spec: str
    key_usage: str
    # Only symmetric keys rotate; rotation keeps old key material, so what they wrapped stays openable.
    rotation: bool = False
    data_class: str | None = None

    def alias(self, zone: str) -> str:
        return f"alias/{self.alias_prefix}-{zone}"


FIELD_ENCRYPTION = ZoneKeyKind("field-encryption", "field encryption", "appx-field", "RSA_3072", "ENCRYPT_DECRYPT",
                               data_class="restricted")
SUBJECT_KEY_WRAPPING = ZoneKeyKind("subject-key-wrapping", "subject-key wrapping", "appx-subject-wrap", "SYMMETRIC_DEFAULT",
                                   "ENCRYPT_DECRYPT", rotation=True)
SUBJECT_REFERENCE = ZoneKeyKind("subject-reference", "subject references (tombstones)", "appx-subject-ref", "HMAC_256",
                                "GENERATE_VERIFY_MAC", data_class="restricted")


@dataclass
class ZoneKeyArgs:
    kind: ZoneKeyKind
    zone: ResidencyZone
    # None: this cell is the zone's home and creates the primary key; else the primary's ARN.
    primary_key_arn: pulumi.Input[str] | None = None


class ZoneKey(pulumi.ComponentResource):
    arn: pulumi.Output[str]
    key_id: pulumi.Output[str]
    public_key_pem: pulumi.Output[str] | None  # the primary RSA key's public half, else None

    def __init__(self, name: str, args: ZoneKeyArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("appx:security:ZoneKey", name, None, opts)
        kind, zone = args.kind, args.zone
        tags = {"app": "appx", "purpose": kind.purpose, "residency-zone": zone.name}
        if kind.data_class:
            tags["data-class"] = kind.data_class
        child = pulumi.ResourceOptions(parent=self)
        self.public_key_pem = None
        if args.primary_key_arn is None:
            key = aws.kms.Key(
                name,
                description=f"Application X {kind.title}, zone {zone.name} ({', '.join(zone.regions)})",
                customer_master_key_spec=kind.key_spec,
                key_usage=kind.key_usage,
                multi_region=True,
                enable_key_rotation=kind.rotation or None,
                deletion_window_in_days=30,
                tags=tags,
                opts=child,
            )
            if kind.key_spec.startswith("RSA_"):
                # The edge encrypts with the public half; it is bundled into the edge function's config.
                self.public_key_pem = aws.kms.get_public_key_output(
                    key_id=key.arn, opts=pulumi.InvokeOutputOptions(parent=self)).public_key_pem
        else:
            key = aws.kms.ReplicaKey(
                name,
                primary_key_arn=args.primary_key_arn,
                description=f"Application X {kind.title}, zone {zone.name} replica",
                deletion_window_in_days=30,
                tags=tags,
                opts=child,
            )
        self.arn, self.key_id = key.arn, key.key_id
        aws.kms.Alias(name, name=kind.alias(zone.name), target_key_id=key.key_id, opts=child)
        self.register_outputs({"arn": self.arn, "keyId": self.key_id})
