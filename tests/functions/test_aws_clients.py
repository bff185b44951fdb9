"""Every AWS client the functions build has explicit connect/read timeouts and a botocore
retry mode (no boto3 defaults of 60 s and legacy retries)."""

from __future__ import annotations

import json

import pytest

from tests.functions.conftest import make_env


def _config(client):
    cfg = client.meta.config
    return cfg.connect_timeout, cfg.read_timeout, cfg.retries.get("mode"), cfg.retries.get("total_max_attempts")


@pytest.fixture
def built(modules, keys):
    from moto import mock_aws

    env = {**make_env(keys, "https://sqs.eu-central-1.amazonaws.com/123456789012/q"), "APPX_KEY_PROVIDER": "kms"}
    with mock_aws():
        yield {name: modules[name].make_handler(env).app for name in ("api", "worker", "stream")}


def test_regional_clients_have_timeouts_and_retry_modes(built):
    api = built["api"]
    assert _config(api.store.ddb.meta.client) == (1.0, 2.0, "standard", 3)
    assert _config(api.health_store.ddb.meta.client) == (0.3, 0.6, "standard", 1)  # /health answers fast
    assert _config(api.sqs) == (1.0, 2.0, "adaptive", 3)
    assert _config(api.keys.inner.kms) == (1.0, 2.0, "standard", 3)
    assert _config(api.keys.inner.check_kms) == (0.3, 0.6, "standard", 1)  # DescribeKey of /health
    for name in ("worker", "stream"):
        assert _config(built[name].store.ddb.meta.client) == (1.0, 2.0, "standard", 3)


def test_redrive_client_has_timeouts_and_retry_mode(monkeypatch, capsys):
    from moto import mock_aws

    from appx_common import redrive

    seen = {}
    real = redrive.redrive

    def spy(sqs, *a, **k):
        seen["cfg"] = _config(sqs)
        return real(sqs, *a, **k)

    monkeypatch.setattr(redrive, "redrive", spy)
    with mock_aws():
        import boto3

        sqs = boto3.client("sqs", region_name="eu-central-1")
        dlq, q = (sqs.create_queue(QueueName=n)["QueueUrl"] for n in ("d", "q"))
        assert redrive.main(["--dlq", dlq, "--queue", q, "--region", "eu-central-1"]) == 0
    assert seen["cfg"] == (1.0, 2.0, "adaptive", 3)
    assert json.loads(capsys.readouterr().out)["seen"] == 0
