"""Table layouts (docs/runtime-contract.md): what the functions expect to find, and where each
global table lives (its owner cell and its replica regions)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from components.table_spec import TableSpec
from components.residency import ResidencyZone

if TYPE_CHECKING:
    from components.config import Project


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


@dataclass(frozen=True)
class Placement:
    """Where one global table lives: the owner cell creates it, every other region of `regions`
    adds a `TableReplica` from its own stack."""

    spec: TableSpec
    owner: str
    regions: tuple[str, ...]

    @property
    def replica_regions(self) -> tuple[str, ...]:
        return tuple(r for r in self.regions if r != self.owner)


def restricted_placement(zone: ResidencyZone) -> Placement:
    return Placement(restricted_table(zone), zone.home_region, tuple(zone.regions))


def placements(project: "Project") -> list[Placement]:
    """Every global table of the project, from residency.yaml and the stack files."""
    eu_wide = [Placement(spec, project.eu_tables_home, tuple(project.cell_regions)) for spec in (POSTS, IDEMPOTENCY)]
    return [*(restricted_placement(z) for z in project.residency.zones.values()), *eu_wide]
