"""A subject-key store keeps nothing it cannot overwrite (GDPR Art. 17, crypto-shredding): it has no
DynamoDB stream and is never a global table, neither with `replicas` nor through a `TableReplica`.

Global-table replication reads a NEW_AND_OLD_IMAGES stream, and a stream keeps every image, the
wrapped subject key included, for 24 h where nobody can delete it: an erased subject's key would
stay readable for a day after erasure, and with it every copy of the subject's data. Each region of
a zone has its own plain key store instead, and the functions copy keys between them
(functions/appx_common/key_store.py), so erasure overwrites every copy at once. Key stores are
recognised by what they hold (components/tables.py), never by their tags."""

from policy.rules._common import (
    TABLE, TABLE_REPLICA, EnforcementLevel, Severity, as_list, holds_subject_keys, resource_rule, truthy,
)

FIX = ("Fix: give every region of the zone its own plain `appx-subject-keys-<zone>` table (no stream, no replicas); "
       "the functions copy keys between them")


def _check(args):
    zone = holds_subject_keys(args.resource_type, args.props)
    if zone is None:
        return
    if args.resource_type == TABLE_REPLICA:
        yield (f"replicates the subject keys of zone '{zone.name}' through a global table, whose stream keeps every "
               f"wrapped key for 24 h after erasure. {FIX}; remove this TableReplica")
        return
    regions = [(r or {}).get("regionName", "?") for r in as_list(args.props.get("replicas"))]
    if regions:
        yield (f"holds the subject keys of zone '{zone.name}' and is a global table (replicas {', '.join(regions)}): "
               f"replication keeps every wrapped key in a stream for 24 h after erasure. {FIX}")
    elif truthy(args.props.get("streamEnabled")):
        yield (f"holds the subject keys of zone '{zone.name}' and has a stream, which keeps every wrapped key for 24 h "
               f"after erasure. {FIX}; set streamEnabled false")


POLICY = resource_rule(
    name="key-store-single-copy",
    description="Subject-key stores have no stream and no replicas: every copy of a key is one erasure can overwrite.",
    article="Art. 17", title="Right to erasure",
    severity=Severity.CRITICAL, level=EnforcementLevel.MANDATORY,
    remediation_steps=("Create `appx-subject-keys-<zone>` as a plain table in each region of the zone, without "
                       "`streamEnabled` and without `replicas` or `TableReplica`; the functions keep the copies."),
    types=(TABLE, TABLE_REPLICA), check=_check,
)
