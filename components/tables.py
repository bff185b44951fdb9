"""Table layouts (docs/runtime-contract.md): what the functions expect to find."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from components.residency import ResidencyZone


@dataclass(frozen=True)
class TableSpec:
    name: str
    data_class: str  # restricted | personal | public | key-material
    hash_key: str
    range_key: str | None = None
    # (index name, hash key, range key) - all string attributes
    indexes: tuple[tuple[str, str, str], ...] = ()
    stream: bool = False
    ttl_attribute: str | None = None
    tags: dict = field(default_factory=dict)
    # False only for key stores: a backup would outlive the destruction of a subject key.
    point_in_time_recovery: bool = True


KEY_MATERIAL = "key-material"


def restricted_table(zone: ResidencyZone) -> TableSpec:
    # Direct identifiers and contact data (sealed under each subject's key), token hashes, the
    # pseudonym map, sign-up replies (TTL), erasure tombstones (TTL) and erasure jobs. The stream
    # starts erasure jobs.
    return TableSpec(
        name=f"appx-restricted-{zone.name}", data_class="restricted", hash_key="pk", range_key="sk",
        stream=True, ttl_attribute="expiration", tags={"residency-zone": zone.name},
    )


def subject_keys_table(zone: ResidencyZone) -> TableSpec:
    # The zone's key store: one wrapped AES-256 key per data subject (crypto-shredding, docs/
    # token-format.md). Replicated only inside the zone like restricted data; PITR OFF on purpose:
    # a backup would keep a destroyed key restorable for the recovery period, and with it every
    # copy of the subject's data. Losing the table loses the data it protects, which is why it is
    # a global table in multi-region zones and has deletion protection.
    return TableSpec(
        name=f"appx-subject-keys-{zone.name}", data_class=KEY_MATERIAL, hash_key="pk",
        point_in_time_recovery=False, tags={"residency-zone": zone.name},
    )


def key_store_zone(table_name: str, zones: Iterable[ResidencyZone]) -> ResidencyZone | None:
    """The zone whose subject keys a table of this name holds (None: not a key store). Rules and
    tools decide what a table holds from its layout here, not from its tags."""
    return next((z for z in zones if subject_keys_table(z).name == table_name), None)


# Pseudonymous user content, EU-wide. The stream keeps each region's feed projection. TTL removes
# the markers of erased authors and of erased posts' feed entries.
POSTS = TableSpec(name="appx-posts", data_class="personal", hash_key="pk", range_key="sk",
                  indexes=(("byAuthor", "authorId", "createdAt"),), stream=True, ttl_attribute="expiration")
# Idempotency records of writes, EU-wide so a retry after failover is recognised. GSI bySubject
# (keyed subject reference) finds a user's records at erasure: the profile keeps no list of them.
IDEMPOTENCY = TableSpec(name="appx-idempotency", data_class="personal", hash_key="id", ttl_attribute="expiration",
                        indexes=(("bySubject", "subject", "id"),))
# The public feed projection: derived data without author ids, rebuilt in every region from
# that region's posts stream, so it is regional and never replicated.
FEED = TableSpec(name="appx-feed", data_class="public", hash_key="pk", range_key="sk")
