"""Properties of the per-subject key hierarchy (docs/token-format.md, key hierarchy), 500+ examples
each: a field sealed under a subject key opens only for the same subject, zone, field and key
version; a shredded subject (every region's copy of its key replaced by a marker) never opens again,
whatever the cache holds, and its key cannot be created again."""

from __future__ import annotations

import hashlib

import boto3
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto import mock_aws

from appx_common.envelope import EnvelopeError, open_for_subject, seal_for_subject
from appx_common.keys import LocalKeyProvider
from appx_common.key_store import KeyCopy, ZoneKeyStore
from appx_common.subject_keys import SubjectKeys, SubjectKeyShredded

EXAMPLES = settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
ZONES = ("eu", "de")
subjects = st.builds(lambda z, r: f"u_{z}_{r}", st.sampled_from(ZONES), st.text("abcdefghijklmnopqrstuvwxyz234567", min_size=26, max_size=26))
fields = st.sampled_from(("email", "name", "phone", "birthDate", "queued-write:r_x", "idempotency-reply:idem#1"))
versions = st.integers(min_value=1, max_value=999)
values = st.one_of(st.text(max_size=64), st.integers(), st.none(), st.lists(st.text(max_size=8), max_size=3))
keys32 = st.binary(min_size=32, max_size=32)


@EXAMPLES
@given(key=keys32, subject=subjects, other_subject=subjects, field=fields, other_field=fields,
       version=versions, other_version=versions, value=values, zone=st.sampled_from(ZONES), other_zone=st.sampled_from(ZONES))
def test_a_field_moved_between_subjects_zones_fields_or_versions_never_opens(key, subject, other_subject, field, other_field,
                                                                            version, other_version, value, zone, other_zone):
    token = seal_for_subject(key, field, zone, subject, version, value)
    assert open_for_subject(token, key, field, zone, subject, version) == value
    context = (field, zone, subject, version)
    for moved in ((other_field, zone, subject, version), (field, other_zone, subject, version),
                  (field, zone, other_subject, version), (field, zone, subject, other_version)):
        if moved == context:
            continue
        with pytest.raises(EnvelopeError):
            open_for_subject(token, key, *moved)


@EXAMPLES
@given(key=keys32, other_key=keys32, subject=subjects, field=fields, value=values)
def test_another_subjects_key_never_opens_a_field(key, other_key, subject, field, value):
    token = seal_for_subject(key, field, "eu", subject, 1, value)
    if other_key != key:
        with pytest.raises(EnvelopeError):
            open_for_subject(token, other_key, field, "eu", subject, 1)


REGIONS = ("eu-west-1", "eu-central-1")  # a zone's key store has a copy in each of its regions


def ref(subject: str) -> str:
    """Stands in for the zone's keyed subject reference (appx_common.subjects)."""
    return hashlib.sha256(subject.encode()).hexdigest()


@pytest.fixture(scope="module")
def key_store(tmp_path_factory):
    directory = tmp_path_factory.mktemp("wrap")
    import os

    for zone in ZONES:
        (directory / f"{zone}.wrap").write_bytes(os.urandom(32))
    with mock_aws():
        tables = {}
        for region in REGIONS:
            ddb = boto3.resource("dynamodb", region_name=region)
            for zone in ZONES:
                tables[region, zone] = ddb.create_table(
                    TableName=f"appx-subject-keys-{zone}", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                    AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")

        def copies(in_region):
            return lambda zone: [KeyCopy(r, tables[r, zone]) for r in sorted(REGIONS, key=lambda r: r != in_region)]

        # Two regions' functions on the same zone-wide store.
        here, there = (SubjectKeys(ZoneKeyStore(copies(r)), ref, LocalKeyProvider(directory)) for r in REGIONS)
        yield here, there, tables


@EXAMPLES
@given(subject=subjects, field=fields, value=values, warm=st.booleans(), lost_copy=st.booleans())
def test_a_shredded_subject_never_opens_again(key_store, subject, field, value, warm, lost_copy):
    here, there, tables = key_store
    zone = subject.split("_")[1]
    key = here.create(zone, subject, 0)
    token = seal_for_subject(key.material, field, zone, subject, key.version, value)
    item_key = {"pk": f"SUBJECT#{ref(subject)}"}
    if lost_copy:  # the other region was down at sign-up: its copy is repaired on first read there
        tables[REGIONS[1], zone].delete_item(Key=item_key)
    assert there.get(zone, subject).material == key.material
    if warm:
        assert here.get(zone, subject).material == key.material  # the cache holds the key
    here.store.shred(zone, ref(subject), 10**10)  # Store.shred_subject
    assert here.get(zone, subject) is None and there.get(zone, subject) is None
    # Nothing of the key is left in any region, and it cannot be created again over the marker.
    assert all("wrapped" not in tables[r, zone].get_item(Key=item_key)["Item"] for r in REGIONS)
    with pytest.raises(SubjectKeyShredded):
        here.create(zone, subject, 1)
    for r in REGIONS:
        tables[r, zone].delete_item(Key=item_key)
