"""Table layouts (docs/runtime-contract.md): what the functions expect to find, and where each
global table lives (its owner cell and its replica regions)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from components.residency import ResidencyZone
from components.table_spec import TableSpec

if TYPE_CHECKING:
    from components.config import Project


KEY_MATERIAL = "key-material"


def restricted_table(zone: ResidencyZone) -> TableSpec:
    # Direct identifiers and contact data (sealed under each subject's key), bearer sessions
    # (secret hashes), the pseudonym map, sign-up replies, erasure tombstones and erasure jobs
    # (TTL ends sessions, replies and tombstones). The stream starts erasure jobs.
    return TableSpec(
        name=f"appx-restricted-{zone.name}", data_class="restricted", hash_key="pk", range_key="sk",
        stream=True, ttl_attribute="expiration", tags={"residency-zone": zone.name},
    )


def subject_keys_table(zone: ResidencyZone) -> TableSpec:
    # The zone's key store: one wrapped AES-256 key per data subject (crypto-shredding, docs/
    # token-format.md). One plain table in every region of the zone, copied by the functions
    # (functions/appx_common/key_store.py), never a global table: replication reads a stream, and a
    # stream keeps every wrapped key for 24 h where nobody can delete it. For the same reason no
    # stream and PITR OFF: either would keep a destroyed key, and with it every copy of the
    # subject's data, readable after erasure. TTL ends the shred markers. Losing every copy loses
    # the data it protects, hence a copy per region and deletion protection.
    return TableSpec(
        name=f"appx-subject-keys-{zone.name}", data_class=KEY_MATERIAL, hash_key="pk", ttl_attribute="expiration",
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
