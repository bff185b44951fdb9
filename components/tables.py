"""Table layouts (docs/runtime-contract.md): what the functions expect to find."""

from __future__ import annotations

from components.global_table import TableSpec
from components.residency import ResidencyZone


def restricted_table(zone: ResidencyZone) -> TableSpec:
    # Direct identifiers and contact data (as edge ciphertext), token hashes, the pseudonym map,
    # erasure tombstones (TTL) and erasure jobs. The stream starts erasure jobs.
    return TableSpec(
        name=f"appx-restricted-{zone.name}", data_class="restricted", hash_key="pk", range_key="sk",
        stream=True, ttl_attribute="expiration", tags={"residency-zone": zone.name},
    )


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
