"""KMS key provider against a stub KMS client that does real RSA-OAEP (moto's asymmetric KMS
is not real RSA)."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from appx_common.envelope import EnvelopeError, Sealer, open_token, oaep
from appx_common.keys import CachingKeyProvider, KeyUnavailable, KmsKeyProvider, key_provider_from_spec

ARN = "arn:aws:kms:eu-west-1:123456789012:key/mrk-testeu"


class StubKms:
    def __init__(self, private, fail=None):
        self.private, self.fail, self.calls = private, fail, []

    def decrypt(self, CiphertextBlob, KeyId, EncryptionAlgorithm):
        self.calls.append((KeyId, EncryptionAlgorithm))
        if self.fail:
            raise ClientError({"Error": {"Code": self.fail, "Message": "x"}}, "Decrypt")
        try:
            return {"Plaintext": self.private.decrypt(CiphertextBlob, oaep())}
        except ValueError:
            raise ClientError({"Error": {"Code": "InvalidCiphertextException", "Message": "x"}}, "Decrypt") from None

    def describe_key(self, KeyId):
        return {"KeyMetadata": {"Enabled": True}}


def test_kms_provider(keys):
    eu = keys["zones"]["eu"]
    kms = StubKms(eu["private"])
    provider = CachingKeyProvider(KmsKeyProvider({"eu": {"table": "t", "keyArn": ARN, "wrapKeyArn": ARN}}, kms))
    subject = "u_eu_" + "k" * 26
    tokens = Sealer("eu", "mrk-testeu", eu["private"].public_key()).seal({"email": "a@x.eu", "name": "A"}, subject)
    assert open_token(tokens["email"], "email", subject, "eu", provider.unwrap) == "a@x.eu"
    assert open_token(tokens["name"], "name", subject, "eu", provider.unwrap) == "A"
    assert kms.calls == [(ARN, "RSAES_OAEP_SHA_256")] and provider.unwrap_calls == 1
    assert provider.accepts("eu", "mrk-testeu") and not provider.accepts("eu", "mrk-other")
    provider.check("eu")
    # a token claiming another key id is refused without calling KMS
    other = Sealer("eu", "mrk-other", eu["private"].public_key()).seal({"email": "a"}, subject)["email"]
    with pytest.raises(EnvelopeError):
        open_token(other, "email", subject, "eu", provider.unwrap)
    assert len(kms.calls) == 1


def test_kms_outage_is_key_unavailable(keys):
    eu = keys["zones"]["eu"]
    provider = KmsKeyProvider({"eu": {"table": "t", "keyArn": ARN}}, StubKms(eu["private"], fail="KMSInternalException"))
    subject = "u_eu_" + "k" * 26
    token = Sealer("eu", "mrk-testeu", eu["private"].public_key()).seal({"email": "a"}, subject)["email"]
    with pytest.raises(KeyUnavailable):
        open_token(token, "email", subject, "eu", provider.unwrap)


def test_provider_spec(keys):
    assert key_provider_from_spec(f"local:{keys['dir']}", {}, lambda: None).__class__.__name__ == "LocalKeyProvider"
    with pytest.raises(ValueError):
        key_provider_from_spec("vault", {}, lambda: None)


def test_kms_subject_keys_on_moto():
    """Subject keys through the KMS provider on moto's (real) symmetric KMS: GenerateDataKey and
    Decrypt with the encryption context; another subject's or zone's context fails."""
    import boto3
    from moto import mock_aws

    with mock_aws():
        kms = boto3.client("kms", region_name="eu-west-1")
        # moto cannot decrypt under its multi-Region keys (AccessDenied): a single-Region key here.
        wrap = kms.create_key(KeySpec="SYMMETRIC_DEFAULT")["KeyMetadata"]["Arn"]
        provider = KmsKeyProvider({"eu": {"table": "t", "keyArn": ARN, "wrapKeyArn": wrap}, "fr": {"table": "t2", "keyArn": ARN, "wrapKeyArn": wrap}}, kms)
        alice, bob = "u_eu_" + "a" * 26, "u_eu_" + "b" * 26
        plain, wrapped = provider.new_subject_key("eu", alice)
        assert len(plain) == 32 and plain not in wrapped
        assert provider.open_subject_key("eu", alice, wrapped) == plain
        for zone, subject in (("eu", bob), ("fr", alice)):
            with pytest.raises(EnvelopeError):
                provider.open_subject_key(zone, subject, wrapped)
