"""A zone's subject-key store: one plain table per region of the zone, copied by the functions.

Why not a global table: DynamoDB global-table replication reads a ``NEW_AND_OLD_IMAGES`` stream,
and a stream keeps every image, the wrapped key included, for 24 h; nobody can delete a stream
record. A key that must disappear at the instant of erasure cannot travel through one. So every
region of the zone has its own ``appx-subject-keys-<zone>`` (no stream, no PITR, no replicas) and
the functions write the copies themselves, inside the zone only (docs/token-format.md):

* **create**: the new key goes to this region's table (``attribute_not_exists``: a concurrent
  creator wins), then to every other region of the zone. A copy that cannot be written (region
  down) is filled later by a read in that region (read repair below).
* **read**: this region's copy (consistent). No item: the other regions' copies are asked; a
  marker in any of them means erased, else a key found is copied here (``attribute_not_exists``
  again).
* **shred**: every copy is *replaced* by a marker ``{shredded: true, expiration}``, this region
  first (it must succeed), then the others. A marker, not a delete: read repair and late copies
  are conditional on the item not existing, so a key can never be copied back over a marker, from
  a region that was unreachable during the erasure or from a copy in flight. The erasure job
  (appx_common.erasure) repeats the shred until every region holds the marker. Markers expire with
  the tombstone (TTL ``expiration``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from botocore.exceptions import BotoCoreError, ClientError

from appx_common.aws import error_code
from appx_common.keys import KeyUnavailable


LOG = logging.getLogger(__name__)
UNREACHED = object()  # another region's copy that did not answer


def subject_key_item_key(ref: str) -> dict:
    """Keyed by the subject reference (appx_common.subjects: HMAC of the user id under the zone's
    key), so a shred marker, like a tombstone, names nobody."""
    return {"pk": f"SUBJECT#{ref}"}


@dataclass(frozen=True)
class KeyCopy:
    region: str
    table: object  # boto3 Table in that region


class ZoneKeyStore:
    """Items are named by subject reference (``ref``: appx_common.subjects). ``copies(zone)``: the
    zone's key-store tables, this region's first."""

    def __init__(self, copies: Callable[[str], Sequence[KeyCopy]]):
        self.copies = copies

    def read(self, zone: str, ref: str) -> dict | None:
        """The stored item (a key or a shred marker), repairing this region's copy from another
        region of the zone when it has none. None: no region of the zone has it. KeyUnavailable:
        none that answered has it, and one that did not answer might."""
        key_of = subject_key_item_key(ref)
        local, *others = self.copies(zone)
        item = _get(local, key_of)
        if item is not None:
            return item
        answers = self._each(others, lambda copy: _get(copy, key_of))
        found = [a for a in answers if a is not None and a is not UNREACHED]
        # A marker anywhere wins over a key elsewhere: that key is in a region the erasure has not
        # reached yet, and must not be copied back.
        marker = next((f for f in found if is_shredded(f)), None)
        key = next((f for f in found if not is_shredded(f)), None)
        if marker is not None:
            return marker
        if key is not None:
            return key if self.put_new(local, key) else _get(local, key_of)  # a shred or another repair came first
        if UNREACHED in answers:
            raise KeyUnavailable(f"the zone's key store is not reachable in every region of zone {zone}")
        return None

    def create(self, zone: str, ref: str, fields: dict) -> bool:
        """Store a new key (``fields``: version, wrapped, ...) in every region of the zone. False
        when this region already had an item for the subject (a concurrent creator's key, or a
        shred marker)."""
        item = {**subject_key_item_key(ref), **fields}
        local, *others = self.copies(zone)
        if not self.put_new(local, item):
            return False
        self._each(others, lambda copy: self.put_new(copy, item))
        return True

    def shred(self, zone: str, ref: str, expiration: int) -> None:
        """Replace every copy by a marker: this region's first (raises when it cannot), then the
        others (best effort; the erasure job verifies and repeats)."""
        marker = {**subject_key_item_key(ref), "shredded": True, "expiration": int(expiration)}
        local, *others = self.copies(zone)
        local.table.put_item(Item=marker)
        self._each(others, lambda copy: copy.table.put_item(Item=marker))

    def regions_holding_key(self, zone: str, ref: str) -> list[str]:
        """Regions of the zone where a key (not a marker) is stored, or that cannot be asked (an
        unreachable region may still hold one): what keeps an erasure job from completing."""
        key_of, copies = subject_key_item_key(ref), list(self.copies(zone))
        answers = self._each(copies, lambda copy: _get(copy, key_of))
        return [c.region for c, a in zip(copies, answers) if a is UNREACHED or (a is not None and not is_shredded(a))]

    @staticmethod
    def put_new(copy: KeyCopy, item: dict) -> bool:
        try:
            copy.table.put_item(Item=item, ConditionExpression="attribute_not_exists(pk)")
            return True
        except ClientError as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise
            return False

    @staticmethod
    def _each(copies: Sequence[KeyCopy], call: Callable[[KeyCopy], object]) -> list:
        """``call`` on every copy at once (other regions: one slow region must not add up with the
        next), each answer in order, or UNREACHED where the region did not answer."""
        def attempt(copy: KeyCopy):
            try:
                return call(copy)
            except (BotoCoreError, ClientError) as exc:
                # Region and error only: a missed copy is repaired by a read there, a missed
                # marker by the erasure job; operators see how often regions are not reached.
                LOG.warning("subject-key store copy not reached: region=%s error=%s", copy.region, error_code(exc) or type(exc).__name__)
                return UNREACHED

        if len(copies) < 2:
            return [attempt(c) for c in copies]
        with ThreadPoolExecutor(max_workers=len(copies)) as pool:
            return list(pool.map(attempt, copies))


def _get(copy: KeyCopy, key: dict) -> dict | None:
    return copy.table.get_item(Key=key, ConsistentRead=True).get("Item")


def is_shredded(item: dict) -> bool:
    return bool(item.get("shredded"))
