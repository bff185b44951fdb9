"""What a copy copies: the data class and residency zone of a table replica, a replica key or a
stream mapping, derived from its source (the owner table's name in its ARN or in the graph, the key
it replicates, residency.yaml, the table layouts of components/tables.py), never from the copy's own
tags. Tags are labels anyone can type; residency is a property of what a resource holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from policy.rules._common import (
    KMS_KEY, KMS_REPLICA_KEY, TABLE, TABLE_REPLICA, ZONE_TAG, Unknown, derived_from, read, residency, tags_of,
)

EVENT_SOURCE_MAPPING = "aws:lambda/eventSourceMapping:EventSourceMapping"
COPIES = (TABLE_REPLICA, KMS_REPLICA_KEY, EVENT_SOURCE_MAPPING)


@dataclass(frozen=True)
class Identity:
    data_class: str | None
    zones: tuple[str, ...]  # the zone(s) the source can belong to; () if it holds no restricted data
    source: str  # what it was derived from, for messages

    @property
    def zone(self) -> str | None:
        return self.zones[0] if len(self.zones) == 1 else None


@lru_cache(maxsize=1)
def table_layouts() -> dict[str, tuple[str, str | None]]:
    """Table name -> (data class, zone) for every table the program builds (components/tables.py)."""
    from components import tables
    from components.table_spec import TableSpec

    layouts = {}
    for zone in residency().zones.values():
        for spec in (tables.restricted_table(zone), tables.subject_keys_table(zone)):
            layouts[spec.name] = (spec.data_class, zone.name)
    for value in vars(tables).values():
        if isinstance(value, TableSpec):
            layouts.setdefault(value.name, (value.data_class, value.tags.get(ZONE_TAG)))
    return layouts


def _arn_parts(arn: str) -> list[str]:
    parts = arn.split(":", 5)
    return parts if len(parts) == 6 and parts[0] == "arn" else []


def table_name(arn: Any) -> str | None:
    """The table of a DynamoDB table or stream ARN (`...:table/<name>[/stream/...]`)."""
    parts = _arn_parts(arn) if isinstance(arn, str) else []
    if not parts or parts[2] != "dynamodb" or not parts[5].startswith("table/"):
        return None
    return parts[5].split("/")[1]


def table_identity(name: Any, how: str) -> Identity | None:
    layout = table_layouts().get(name) if isinstance(name, str) else None
    if layout is None:
        return None
    data_class, zone = layout
    return Identity(data_class, (zone,) if zone else (), f"table {name} ({how}, components/tables.py)")


def _owner_table(resource: Any, prop: str) -> Identity | Unknown | None:
    """Identity of the table whose (unknown) ARN `prop` holds, found through the property's dependencies."""
    owners = derived_from(resource, prop, (TABLE,))
    names = {read(o.props, "name") for o in owners}
    if len(names) != 1 or not isinstance(next(iter(names)), str):
        return None
    return table_identity(next(iter(names)), f"{prop} depends on it")


def _key_identity(resource: Any) -> Identity | None:
    primary = read(resource.props, "primaryKeyArn")
    if isinstance(primary, Unknown):  # the primary is created in this stack: its zone is the key's own
        keys = derived_from(resource, "primaryKeyArn", (KMS_KEY,))
        zones = {tags_of(k.props).get(ZONE_TAG) for k in keys}
        if len(zones) != 1 or None in zones:
            return None
        return Identity("restricted", tuple(zones), f"primary key {keys[0].name} of this stack")
    parts = _arn_parts(primary) if isinstance(primary, str) else []
    if not parts or parts[2] != "kms":
        return None
    # A zone's primary field key lives in the zone's home region (residency.yaml).
    zones = tuple(sorted(z.name for z in residency().zones.values() if z.home_region == parts[3]))
    return Identity("restricted", zones, f"primary key {primary} (home region {parts[3]}, residency.yaml)") if zones else None


def copied_identity(resource: Any) -> Identity | None:
    """The identity a copy inherits from its source; None if the source cannot be identified (or the
    resource copies nothing this module knows)."""
    props = resource.props
    if resource.resource_type == TABLE_REPLICA:
        arn = read(props, "globalTableArn")
        if isinstance(arn, Unknown):
            return _owner_table(resource, "globalTableArn")
        return table_identity(table_name(arn), f"globalTableArn {arn}")
    if resource.resource_type == KMS_REPLICA_KEY:
        return _key_identity(resource)
    if resource.resource_type == EVENT_SOURCE_MAPPING:
        arn = read(props, "eventSourceArn")
        if isinstance(arn, Unknown):
            return _owner_table(resource, "eventSourceArn")
        name = table_name(arn)
        return table_identity(name, f"eventSourceArn {arn}") if name else None
    return None


def copies_data(resource: Any) -> bool:
    """Whether the resource is a copy whose source must be identifiable: replicas, replica keys, and
    stream mappings that read a table's stream (a queue's mapping copies no table)."""
    if resource.resource_type != EVENT_SOURCE_MAPPING:
        return resource.resource_type in COPIES
    arn = read(resource.props, "eventSourceArn")
    if isinstance(arn, Unknown):
        return bool(derived_from(resource, "eventSourceArn", (TABLE,)))
    return table_name(arn) is not None
