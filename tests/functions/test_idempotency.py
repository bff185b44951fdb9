"""Idempotency records: a record released between our failed claim and our read is claimed
again, not reported as a reused key."""

from __future__ import annotations


def test_record_released_during_claim_is_claimed_again(world):
    from appx_common.idempotency import Idempotency

    table = world.ddb.Table("appx-idempotency")
    idem = Idempotency(table, world.clock)
    blocker = idem.claim("POST /v1/posts", "u", "key-000000001-k7Q2xW9mZp4R", "fp-other", "subject-ref")
    real_get = table.get_item

    class Racing:
        """The first read after a failed claim finds the record gone (its request failed)."""

        def __init__(self):
            self.reads = 0

        def __getattr__(self, name):
            return getattr(table, name)

        def get_item(self, **kw):
            self.reads += 1
            if self.reads == 1:
                idem.release(blocker)
            return real_get(**kw)

    racing = Racing()
    claim = Idempotency(racing, world.clock).claim("POST /v1/posts", "u", "key-000000001-k7Q2xW9mZp4R", "fp-mine", "subject-ref")
    assert claim.replay is None and racing.reads == 1
    assert table.get_item(Key={"id": claim.record_id})["Item"]["fingerprint"] == "fp-mine"
