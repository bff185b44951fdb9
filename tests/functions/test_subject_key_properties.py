"""Properties of the per-subject key hierarchy (docs/token-format.md, key hierarchy), 500+ examples
each: a field sealed under a subject key opens only for the same subject, zone, field and key
version; a shredded subject (its stored key deleted) never opens again, whatever the cache holds."""

from __future__ import annotations

import boto3
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto import mock_aws

from appx_common.envelope import EnvelopeError, open_for_subject, seal_for_subject
from appx_common.keys import LocalKeyProvider
from appx_common.subject_keys import SubjectKeys

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


@pytest.fixture(scope="module")
def key_store(tmp_path_factory):
    directory = tmp_path_factory.mktemp("wrap")
    import os

    for zone in ZONES:
        (directory / f"{zone}.wrap").write_bytes(os.urandom(32))
    with mock_aws():
        ddb = boto3.resource("dynamodb", region_name="eu-central-1")
        for zone in ZONES:
            ddb.create_table(TableName=f"appx-subject-keys-{zone}", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                             AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
        yield SubjectKeys(lambda z: ddb.Table(f"appx-subject-keys-{z}"), LocalKeyProvider(directory)), ddb


@EXAMPLES
@given(subject=subjects, field=fields, value=values, warm=st.booleans())
def test_a_shredded_subject_never_opens_again(key_store, subject, field, value, warm):
    keys, ddb = key_store
    zone = subject.split("_")[1]
    key = keys.create(zone, subject, 0)
    token = seal_for_subject(key.material, field, zone, subject, key.version, value)
    wrapped = ddb.Table(f"appx-subject-keys-{zone}").get_item(Key={"pk": f"SUBJECT#{subject}"})["Item"]["wrapped"]
    if warm:
        assert keys.get(zone, subject).material == key.material  # the cache holds the key
    ddb.Table(f"appx-subject-keys-{zone}").delete_item(Key={"pk": f"SUBJECT#{subject}"})  # Store.shred_subject
    assert keys.get(zone, subject) is None
    # A new key for the same id (a resurrected subject) does not open the old data either.
    reborn = keys.create(zone, subject, 1)
    assert bytes(wrapped.value) != bytes(ddb.Table(f"appx-subject-keys-{zone}").get_item(Key={"pk": f"SUBJECT#{subject}"})["Item"]["wrapped"].value)
    if reborn.material != key.material:
        with pytest.raises(EnvelopeError):
            open_for_subject(token, reborn.material, field, zone, subject, reborn.version)
    ddb.Table(f"appx-subject-keys-{zone}").delete_item(Key={"pk": f"SUBJECT#{subject}"})
