"""Property tests of the field envelope (>= 500 examples each). RSA keys come from the session
fixture; the per-example work is one RSA-OAEP wrap/unwrap at most."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from appx_common.envelope import EnvelopeError, Sealer, open_token, parse_token
from appx_common.keys import LocalKeyProvider

SETTINGS = settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
FIELDS = ["email", "name", "phone", "birthDate"]
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=40),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3),
    max_leaves=6,
)
subjects = st.from_regex(r"u_(eu|de)_[a-z2-7]{26}", fullmatch=True)


@pytest.fixture(scope="module")
def crypto(keys):
    provider = LocalKeyProvider(keys["dir"])
    sealers = {z: Sealer(z, v["keyId"], v["private"].public_key()) for z, v in keys["zones"].items()}
    return provider, sealers


@pytest.fixture(scope="module")
def sealed(crypto):
    """A fixed sealed record (one wrap) reused by the tamper properties."""
    provider, sealers = crypto
    subject = "u_eu_" + "q" * 26
    values = {"email": "alice@example.org", "name": "Alice", "phone": "+33 6", "birthDate": "1990-04-01"}
    return subject, values, sealers["eu"].seal(values, subject)


@SETTINGS
@given(values=st.dictionaries(st.sampled_from(FIELDS), json_values, min_size=1), subject=subjects, zone=st.sampled_from(["eu", "de"]))
def test_round_trip(crypto, values, subject, zone):
    provider, sealers = crypto
    tokens = sealers[zone].seal(values, subject)
    assert len({parse_token(t).wrapped_key for t in tokens.values()}) == 1
    for field, value in values.items():
        assert open_token(tokens[field], field, subject, zone, provider.unwrap) == value


@SETTINGS
@given(data=st.data())
def test_any_bit_flip_rejected(crypto, sealed, data):
    provider, _ = crypto
    subject, values, tokens = sealed
    field = data.draw(st.sampled_from(FIELDS))
    raw = bytearray(tokens[field].encode("ascii"))
    pos = data.draw(st.integers(0, len(raw) - 1))
    bit = data.draw(st.integers(0, 7))
    raw[pos] ^= 1 << bit
    # latin-1 maps every byte to one character, so a flipped high bit is still tested (as the
    # non-ASCII character a JSON string could carry) instead of being skipped.
    with pytest.raises(EnvelopeError):
        open_token(raw.decode("latin-1"), field, subject, "eu", provider.unwrap)


@SETTINGS
@given(values=st.dictionaries(st.sampled_from(FIELDS), json_values, min_size=2), subject=subjects, zone=st.sampled_from(["eu", "de"]), data=st.data())
def test_field_swap_rejected(crypto, values, subject, zone, data):
    """Freshly sealed values each time (a fixed record offers only 12 field pairs, so
    hypothesis stopped far below 500 examples)."""
    provider, sealers = crypto
    tokens = sealers[zone].seal(values, subject)
    a, b = data.draw(st.permutations(sorted(values)).map(lambda p: p[:2]))
    with pytest.raises(EnvelopeError):
        open_token(tokens[a], b, subject, zone, provider.unwrap)


@SETTINGS
@given(other=subjects, field=st.sampled_from(FIELDS))
def test_cross_subject_replay_rejected(crypto, sealed, other, field):
    provider, _ = crypto
    subject, _, tokens = sealed
    if other == subject:
        return
    with pytest.raises(EnvelopeError):
        open_token(tokens[field], field, other, "eu", provider.unwrap)


@SETTINGS
@given(field=st.sampled_from(FIELDS), zone=st.from_regex(r"[a-z][a-z0-9]{0,14}", fullmatch=True), relabel=st.booleans())
def test_cross_zone_replay_rejected(crypto, sealed, field, zone, relabel):
    """Opening as another zone fails. Relabelling the token's zone to match fails too, even
    with an unwrap oracle that hands back the true data key (as if both zones shared a key):
    the zone is bound in the AAD, so GCM authentication itself rejects it."""
    provider, _ = crypto
    subject, _, tokens = sealed
    if zone == "eu":
        return
    token = tokens[field]
    if relabel:
        token = token.replace("appxenc1.eu.", f"appxenc1.{zone}.", 1)
        data_key = provider.unwrap(parse_token(tokens[field]))
        unwrap = lambda _t: data_key  # noqa: E731
    else:
        unwrap = provider.unwrap
    with pytest.raises(EnvelopeError):
        open_token(token, field, subject, zone, unwrap)


def test_data_key_cache_bounded(crypto, sealed):
    from appx_common.keys import CachingKeyProvider

    provider, sealers = crypto
    now = [0.0]
    cache = CachingKeyProvider(provider, max_entries=3, ttl_seconds=10, clock=lambda: now[0])
    subject = "u_eu_" + "q" * 26
    toks = [sealers["eu"].seal({"email": i}, subject)["email"] for i in range(5)]
    for t in toks:
        open_token(t, "email", subject, "eu", cache.unwrap)
    assert cache.unwrap_calls == 5 and len(cache) == 3
    open_token(toks[-1], "email", subject, "eu", cache.unwrap)
    assert cache.unwrap_calls == 5
    now[0] = 11
    open_token(toks[-1], "email", subject, "eu", cache.unwrap)
    assert cache.unwrap_calls == 6
