"""KMS calls by kind per 1,000 profile reads, before and after per-subject keys (issue 9).

    python -m tools.bench_keys [--users 1000] [--before-commit 7febf53]

1,000 distinct users sign up through the edge, spread over the regions of zone `eu`; then each
profile is read once (`GET /v1/me`), every read in a fresh, cold API container of the user's
region (the worst case: no cache helps). KMS is a counting stand-in that does the real crypto
(RSA-OAEP with the zone's private key, AES-256-GCM key wrapping with the encryption context) and
counts the calls the production `KmsKeyProvider` makes, by kind.

"before" runs the functions of `--before-commit` (extracted with `git archive`, the read path that
unwrapped the edge's RSA-wrapped data key on every cold read); "after" runs this tree. Each runs in
its own process under moto. Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import importlib.util
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BEFORE_COMMIT = "7febf53"  # main before per-subject keys
ZONE, REGIONS = "eu", ("eu-west-1", "eu-central-1", "eu-west-3")
# KMS request quotas per account and region (docs.aws.amazon.com/kms/latest/developerguide/requests-per-second.html)
RSA_QUOTA = 1_000  # shared by all RSA keys
SYMMETRIC_QUOTA = {"eu-west-1": 100_000, "eu-central-1": 20_000, "eu-west-3": 10_000}


class CountingKms:
    """What KMS would answer, with a count per kind of call."""

    def __init__(self, private_key, wrap_key: bytes, mac_key: bytes):
        self.private_key, self.wrap_key, self.mac_key = private_key, wrap_key, mac_key
        self.calls: Counter = Counter()

    def _aad(self, context) -> bytes:
        return json.dumps(context or {}, sort_keys=True).encode()

    def decrypt(self, CiphertextBlob, KeyId, EncryptionAlgorithm="SYMMETRIC_DEFAULT", EncryptionContext=None):
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        from appx_common.envelope import oaep

        if EncryptionAlgorithm == "RSAES_OAEP_SHA_256":
            self.calls["rsa_decrypt"] += 1
            return {"Plaintext": self.private_key.decrypt(CiphertextBlob, oaep())}
        self.calls["symmetric_decrypt"] += 1
        return {"Plaintext": AESGCM(self.wrap_key).decrypt(CiphertextBlob[:12], CiphertextBlob[12:], self._aad(EncryptionContext))}

    def generate_data_key(self, KeyId, KeySpec, EncryptionContext=None):
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        self.calls["symmetric_generate_data_key"] += 1
        key, nonce = os.urandom(32), os.urandom(12)
        return {"Plaintext": key, "CiphertextBlob": nonce + AESGCM(self.wrap_key).encrypt(nonce, key, self._aad(EncryptionContext))}

    def generate_mac(self, KeyId, MacAlgorithm, Message):
        self.calls["hmac_generate_mac"] += 1
        return {"Mac": hmac.new(self.mac_key, Message, hashlib.sha256).digest()}

    def describe_key(self, KeyId):
        return {"KeyMetadata": {"Enabled": True}}


def _load(functions: Path, name: str):
    spec = importlib.util.spec_from_file_location(f"bench_{name}_handler", functions / name / "handler.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _tables(ddb) -> None:
    pk_sk = {"KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
             "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "S"}],
             "BillingMode": "PAY_PER_REQUEST"}
    ddb.create_table(TableName=f"appx-restricted-{ZONE}", **pk_sk)
    ddb.create_table(TableName="appx-feed", **pk_sk)
    ddb.create_table(TableName=f"appx-subject-keys-{ZONE}", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
    ddb.create_table(TableName="appx-posts", **{**pk_sk, "AttributeDefinitions": [
        {"AttributeName": n, "AttributeType": "S"} for n in ("pk", "sk", "authorId", "createdAt")]},
        GlobalSecondaryIndexes=[{"IndexName": "byAuthor", "KeySchema": [{"AttributeName": "authorId", "KeyType": "HASH"},
                                                                        {"AttributeName": "createdAt", "KeyType": "RANGE"}],
                                 "Projection": {"ProjectionType": "ALL"}}])
    ddb.create_table(TableName="appx-idempotency", KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")


def _request(method: str, path: str, headers: dict, body: bytes) -> dict:
    import base64

    return {"version": "2.0", "routeKey": "$default", "rawPath": path, "rawQueryString": "", "headers": headers,
            "requestContext": {"http": {"method": method, "path": path, "sourceIp": "203.0.113.1"}, "stage": "$default"},
            "body": base64.b64encode(body).decode(), "isBase64Encoded": True}


def child(functions: Path, users: int) -> dict:
    """Run in a separate process: sign up `users`, read each once from a cold container."""
    sys.path.insert(0, str(functions))
    sys.path.insert(1, str(ROOT))
    os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION=REGIONS[0])
    import boto3
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from moto import mock_aws

    from components.edge_config import edge_function_config
    from components.residency import load_residency

    private = rsa.generate_private_key(public_exponent=65537, key_size=3072)  # RSA_3072 as deployed
    pem = private.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    residency = load_residency(ROOT / "residency.yaml")
    kms = CountingKms(private, os.urandom(32), os.urandom(32))
    config = edge_function_config(residency, "appx.example.eu", {z: {"keyId": f"mrk-bench{z}", "publicKeyPem": pem} for z in residency.zones})
    api_mod, edge_mod = _load(functions, "api"), _load(functions, "edge")
    edge = edge_mod.make_handler({}, config=config)
    out = {"writes": {}, "reads": {}}
    with mock_aws():
        regions = {}
        for region in REGIONS:
            ddb = boto3.resource("dynamodb", region_name=region)
            _tables(ddb.meta.client)
            arn = f"arn:aws:kms:{region}:123456789012:key/"
            env = {"APPX_REGION": region, "APPX_KEY_PROVIDER": "kms", "POWERTOOLS_SERVICE_NAME": "appx-api",
                   "APPX_ZONES": json.dumps({ZONE: {"table": f"appx-restricted-{ZONE}", "keysTable": f"appx-subject-keys-{ZONE}",
                                                    "keyArn": arn + f"mrk-bench{ZONE}", "wrapKeyArn": arn + "mrk-wrap",
                                                    "macKeyArn": arn + "mrk-mac"}})}
            regions[region] = (env, ddb)

        def api(region):  # a fresh (cold) container
            env, ddb = regions[region]
            return api_mod.make_handler(env, dynamodb=ddb, kms=kms, sqs=object())

        tokens = []
        before, started = Counter(kms.calls), time.perf_counter()
        writers = {r: api(r) for r in REGIONS}
        for i in range(users):
            region = REGIONS[i % len(REGIONS)]
            body = json.dumps({"email": f"user{i}@example.org", "name": f"User {i}", "phone": "+33 6 00 00 00 00"}).encode()
            cf = {"content-type": [{"key": "Content-Type", "value": "application/json"}],
                  "cloudfront-viewer-country": [{"key": "CloudFront-Viewer-Country", "value": "FR"}]}
            event = {"Records": [{"cf": {"config": {"eventType": "origin-request"}, "request": {
                "method": "POST", "uri": "/v1/users", "querystring": "", "headers": cf, "clientIp": "203.0.113.1",
                "body": {"inputTruncated": False, "action": "read-only", "encoding": "base64",
                         "data": __import__("base64").b64encode(body).decode()},
                "origin": {"custom": {"domainName": "origin.appx.example.eu", "port": 443, "protocol": "https", "path": "",
                                      "sslProtocols": ["TLSv1.2"], "readTimeout": 30, "keepaliveTimeout": 5, "customHeaders": {}}}}}}]}
            routed = edge(event, None)
            headers = {k: v[0]["value"] for k, v in routed["headers"].items()}
            data = __import__("base64").b64decode(routed["body"]["data"])
            resp = writers[region](_request("POST", "/v1/users", headers, data), None)
            assert resp["statusCode"] == 201, resp
            tokens.append((region, json.loads(resp["body"])["token"]))
        out["writes"] = {"count": users, "calls": dict(Counter(kms.calls) - before), "seconds": round(time.perf_counter() - started, 1)}

        before, started = Counter(kms.calls), time.perf_counter()
        for region, token in tokens:
            resp = api(region)(_request("GET", "/v1/me", {"authorization": f"Bearer {token}", "x-appx-zone": ZONE}, b""), None)
            assert resp["statusCode"] == 200, resp
        out["reads"] = {"count": users, "calls": dict(Counter(kms.calls) - before), "seconds": round(time.perf_counter() - started, 1)}
    return out


def _run(functions: Path, users: int) -> dict:
    code = f"import json, sys; sys.path.insert(0, {str(ROOT)!r}); from tools.bench_keys import child; " \
           f"print(json.dumps(child(__import__('pathlib').Path({str(functions)!r}), {users})))"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    if proc.returncode != 0:
        raise SystemExit(f"benchmark run failed for {functions}:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _per_1000(calls: dict, count: int, kind: str) -> float:
    return sum(v for k, v in calls.items() if k.startswith(kind)) * 1000 / count


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.bench_keys", description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--before-commit", default=BEFORE_COMMIT)
    args = parser.parse_args(argv)
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        archive = Path(tmp) / "before.tar"
        subprocess.run(["git", "archive", "--format=tar", "-o", str(archive), args.before_commit, "functions"], cwd=ROOT, check=True)
        with tarfile.open(archive) as tar:
            tar.extractall(Path(tmp) / "before", filter="data")
        results[f"before ({args.before_commit})"] = _run(Path(tmp) / "before" / "functions", args.users)
    results["after (this tree)"] = _run(ROOT / "functions", args.users)
    print(f"{args.users} distinct users of zone {ZONE} over {', '.join(REGIONS)}; every read in a cold container\n")
    print(f"{'':22} {'per 1,000 reads':>34} | {'per write (sign-up)':>34}")
    print(f"{'mode':22} {'RSA':>10} {'symmetric':>12} {'HMAC':>10} | {'RSA':>10} {'symmetric':>12} {'HMAC':>10}")
    for mode, r in results.items():
        reads, writes = r["reads"], r["writes"]
        print(f"{mode:22} {_per_1000(reads['calls'], reads['count'], 'rsa'):>10.1f} "
              f"{_per_1000(reads['calls'], reads['count'], 'symmetric'):>12.1f} {_per_1000(reads['calls'], reads['count'], 'hmac'):>10.1f} | "
              f"{_per_1000(writes['calls'], writes['count'], 'rsa') / 1000:>10.2f} "
              f"{_per_1000(writes['calls'], writes['count'], 'symmetric') / 1000:>12.2f} {_per_1000(writes['calls'], writes['count'], 'hmac') / 1000:>10.2f}")
    print("\nraw calls:", json.dumps({m: {"reads": r["reads"]["calls"], "writes": r["writes"]["calls"]} for m, r in results.items()}))
    print("\nKMS-bound ceiling of cold profile reads per second and region (quota / calls per read; GenerateMac "
          "shares the symmetric quota, and a cold container pays one per zone):")
    for mode, r in results.items():
        reads = r["reads"]
        rsa = _per_1000(reads["calls"], reads["count"], "rsa") / 1000
        sym = sum(_per_1000(reads["calls"], reads["count"], kind) for kind in ("symmetric", "hmac")) / 1000
        caps = []
        for region in REGIONS:
            bounds = [q / c for q, c in ((RSA_QUOTA, rsa), (SYMMETRIC_QUOTA[region], sym)) if c]
            caps.append(f"{region} {min(bounds):,.0f}/s" if bounds else f"{region} unbounded by KMS")
        print(f"  {mode:22} " + "; ".join(caps))
    return 0


if __name__ == "__main__":
    sys.exit(main())
