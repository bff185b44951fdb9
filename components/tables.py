"""Table layouts (docs/runtime-contract.md): what the functions expect to find."""

from __future__ import annotations

from components.global_table import TableSpec
from components.residency import ResidencyZone


def restricted_table(zone: ResidencyZone) -> TableSpec:
    # Direct identifiers and contact data (as edge ciphertext), bearer sessions (secret hashes),
    # the pseudonym map. The stream feeds erasure propagation; TTL ends sessions' records.
    return TableSpec(
        name=f"appx-restricted-{zone.name}", data_class="restricted", hash_key="pk", range_key="sk",
        stream=True, tags={"residency-zone": zone.name}, ttl_attribute="expiration",
    )


# Pseudonymous user content, EU-wide. The stream keeps each region's feed projection. TTL removes
# the short-lived markers of erased authors.
POSTS = TableSpec(name="appx-posts", data_class="personal", hash_key="pk", range_key="sk",
                  indexes=(("byAuthor", "authorId", "createdAt"),), stream=True, ttl_attribute="expiration")
# Idempotency records of writes (Powertools layout), EU-wide so a retry after failover is recognised.
IDEMPOTENCY = TableSpec(name="appx-idempotency", data_class="personal", hash_key="id", ttl_attribute="expiration")
# The public feed projection: derived data without author ids, rebuilt in every region from
# that region's posts stream, so it is regional and never replicated.
FEED = TableSpec(name="appx-feed", data_class="public", hash_key="pk", range_key="sk")
