"""The declared KMS usage (functions/appx_common/kms_usage.py) is what the real handlers do.

Each request kind runs against a fresh API handler (cold data-key cache) on moto. RSA operations
are counted by the key interface (`unwrap_calls`, the calls that reached KMS or the private key)
and the EMF metric `KeyUnwrapCalls`; symmetric operations by every KMS call the handler makes
through its KMS client plus the subject-key operations (`SubjectKeys.generate_calls` and
`unwrap_calls`, KMS `GenerateDataKey`/`Decrypt` on the wrapping key in AWS; the local key
provider stands in for them here) and the EMF metric `SubjectKeyCalls`.
"""

from __future__ import annotations

import json

import pytest

from appx_common.kms_usage import KMS_OPS_PER_REQUEST, KmsOps


def _signed_up(world) -> str:
    return world.signup(idem="kms-usage-signup-01-k7Q2xW9mZp4R").json["token"]


def _post(world) -> str:
    token = _signed_up(world)
    return world.request("POST", "/v1/posts", {"text": "hello"}, token=token).json["postId"]


# kind -> (setup made on the world's own handler, the measured request)
DRIVERS = {
    "feed": (lambda w: None, lambda w, _: w.request("GET", "/v1/feed", via_edge=False)),
    "postRead": (_post, lambda w, post_id: w.request("GET", f"/v1/posts/{post_id}", via_edge=False)),
    "signup": (lambda w: None, lambda w, _: w.signup(idem="kms-usage-signup-02-k7Q2xW9mZp4R")),
    "profileRead": (_signed_up, lambda w, t: w.request("GET", "/v1/me", token=t)),
    "profileUpdate": (_signed_up, lambda w, t: w.request("PATCH", "/v1/me", {"name": "B. Example"}, token=t, idem="kms-usage-patch-01-k7Q2xW9mZp4R")),
    "postCreate": (_signed_up, lambda w, t: w.request("POST", "/v1/posts", {"text": "m"}, token=t, idem="kms-usage-post-01-k7Q2xW9mZp4R")),
    "export": (_signed_up, lambda w, t: w.request("GET", "/v1/me/export", token=t)),
    "erasure": (_signed_up, lambda w, t: w.request("DELETE", "/v1/me", token=t)),
}


class KmsCallCounter:
    """Counts the KMS API calls made through a (moto) botocore client, by operation."""

    def __init__(self, client):
        self.calls: list[str] = []
        client.meta.events.register("before-call.kms.*", lambda model, **_: self.calls.append(model.name))


def _metric(out: str, name: str) -> float:
    """Sum of the EMF ``name`` values printed (each a list of one value)."""
    docs = [json.loads(line) for line in out.splitlines() if line.startswith("{") and '"_aws"' in line]
    return sum(sum(doc.get(name, [])) for doc in docs)


def test_every_declared_kind_is_driven():
    assert set(DRIVERS) == set(KMS_OPS_PER_REQUEST)


@pytest.mark.parametrize("kind", sorted(KMS_OPS_PER_REQUEST))
def test_handlers_make_exactly_the_declared_kms_calls(world, capsys, kind):
    import boto3

    setup, measured = DRIVERS[kind]
    state = setup(world)
    kms = boto3.client("kms", region_name=world.env["APPX_REGION"])
    counter = KmsCallCounter(kms)
    # A fresh handler: cold data-key cache, its own KMS client.
    world.api = world.modules["api"].make_handler(world.env, dynamodb=world.ddb, sqs=world.sqs, clock=world.clock, kms=kms)
    capsys.readouterr()
    response = measured(world, state)
    assert response.status < 300, response
    app = world.api.app
    assert world.env["APPX_KEY_PROVIDER"].startswith("local:")  # subject-key ops are not KMS client calls here
    subject_ops = app.subject_keys.generate_calls + app.subject_keys.unwrap_calls
    observed = KmsOps(rsa=app.keys.unwrap_calls, symmetric=len(counter.calls) + subject_ops)
    assert observed == KMS_OPS_PER_REQUEST[kind]
    out = capsys.readouterr().out
    assert _metric(out, "KeyUnwrapCalls") == observed.rsa
    assert _metric(out, "SubjectKeyCalls") == subject_ops
