"""Fixtures for the function tests: functions/ on sys.path, the four ``handler`` modules loaded
under unique names, RSA keys generated once per session, moto tables and queues."""

from __future__ import annotations

import base64
import importlib.util
import json
import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FUNCTIONS = ROOT / "functions"
for p in (str(FUNCTIONS), str(ROOT)):
    if p not in sys.path:
        sys.path.insert(0, p)

os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.setdefault("AWS_DEFAULT_REGION", "eu-central-1")
os.environ.pop("AWS_ENDPOINT_URL", None)
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "AppX")

REGION = "eu-central-1"
DOMAIN = "appx.example.eu"


def load_handler(name: str):
    mod_name = f"appx_fn_{name}_handler"
    if mod_name in sys.modules:
        return sys.modules[mod_name]
    spec = importlib.util.spec_from_file_location(mod_name, FUNCTIONS / name / "handler.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[mod_name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def modules():
    return {n: load_handler(n) for n in ("api", "edge", "worker", "stream")}


@pytest.fixture(scope="session")
def keys(tmp_path_factory):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    directory = tmp_path_factory.mktemp("keys")
    out = {}
    for zone in ("eu", "de"):
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        (directory / f"{zone}.pem").write_bytes(
            key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        )
        (directory / f"{zone}.wrap").write_bytes(os.urandom(32))
        pub = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
        out[zone] = {"private": key, "keyId": f"mrk-test{zone}", "publicKeyPem": pub}
        (directory / f"{zone}.mac").write_bytes(os.urandom(32))  # the zone's subject-reference HMAC key
    return {"dir": directory, "zones": out}


@pytest.fixture(scope="session")
def edge_config(keys):
    from components.edge_config import edge_function_config
    from components.residency import load_residency

    residency = load_residency(ROOT / "residency.yaml")
    return edge_function_config(residency, DOMAIN, {z: {"keyId": v["keyId"], "publicKeyPem": v["publicKeyPem"]} for z, v in keys["zones"].items()})


def make_env(keys, queue_url: str = "", region: str = REGION) -> dict:
    return {
        "APPX_REGION": region,
        "APPX_ZONES": json.dumps({z: {"table": f"appx-restricted-{z}", "keysTable": f"appx-subject-keys-{z}",
                                      "keyStoreRegions": list(ZONE_REGIONS[z]),
                                      "keyArn": f"arn:aws:kms:{region}:123456789012:key/mrk-test{z}",
                                      "wrapKeyArn": f"arn:aws:kms:{region}:123456789012:key/mrk-wrap{z}"} for z in ("eu", "de")}),
        "APPX_POSTS_TABLE": "appx-posts",
        "APPX_FEED_TABLE": "appx-feed",
        "APPX_IDEMPOTENCY_TABLE": "appx-idempotency",
        "APPX_QUEUE_URL": queue_url,
        "APPX_KEY_PROVIDER": f"local:{keys['dir']}",
        "POWERTOOLS_SERVICE_NAME": "appx-api",
    }


# residency.yaml's zones: the subject-key store has a copy in each of the zone's regions.
ZONE_REGIONS = {"eu": ("eu-west-1", "eu-central-1", "eu-west-3"), "de": ("eu-central-1",)}
TABLES = ("appx-restricted-eu", "appx-restricted-de", "appx-subject-keys-eu", "appx-subject-keys-de", "appx-posts", "appx-feed", "appx-idempotency")


def create_key_store(ddb, zone: str) -> None:
    ddb.create_table(TableName=f"appx-subject-keys-{zone}", AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                     KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}], BillingMode="PAY_PER_REQUEST")


def create_tables(ddb):
    import boto3


    stream = {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    pk_sk = dict(
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        BillingMode="PAY_PER_REQUEST",
    )
    for zone in ("eu", "de"):
        ddb.create_table(TableName=f"appx-restricted-{zone}", AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "S"}], StreamSpecification=stream, **pk_sk)
        for region in ZONE_REGIONS[zone]:
            create_key_store(ddb if region == REGION else boto3.client("dynamodb", region_name=region), zone)
    ddb.create_table(
        TableName="appx-posts",
        AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"} for n in ("pk", "sk", "authorId", "createdAt")],
        GlobalSecondaryIndexes=[{"IndexName": "byAuthor", "KeySchema": [{"AttributeName": "authorId", "KeyType": "HASH"}, {"AttributeName": "createdAt", "KeyType": "RANGE"}], "Projection": {"ProjectionType": "ALL"}}],
        StreamSpecification=stream,
        **pk_sk,
    )
    ddb.create_table(TableName="appx-feed", AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "S"}], **pk_sk)
    ddb.create_table(
        TableName="appx-idempotency",
        AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"} for n in ("id", "subject")],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        GlobalSecondaryIndexes=[{"IndexName": "bySubject", "KeySchema": [{"AttributeName": "subject", "KeyType": "HASH"}, {"AttributeName": "id", "KeyType": "RANGE"}], "Projection": {"ProjectionType": "ALL"}}],
        BillingMode="PAY_PER_REQUEST",
    )


class Clock:
    def __init__(self, t: float = 1_760_000_000.0):
        self.t = t

    def __call__(self) -> float:
        self.t += 0.001
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


class World:
    """One region (eu-central-1, serving zones eu and de) behind a local edge, on moto."""

    def __init__(self, modules, keys, edge_config):
        import boto3

        self.modules, self.keys = modules, keys
        self.ddb = boto3.resource("dynamodb", region_name=REGION)
        self.sqs = boto3.client("sqs", region_name=REGION)
        # botocore routes stream calls to an account-based endpoint moto does not match: pin it.
        self.streams = boto3.client("dynamodbstreams", region_name=REGION, endpoint_url=f"https://streams.dynamodb.{REGION}.amazonaws.com")
        create_tables(self.ddb.meta.client)
        self.dlq_url = self.sqs.create_queue(QueueName="appx-writes-dlq")["QueueUrl"]
        dlq_arn = self.sqs.get_queue_attributes(QueueUrl=self.dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        self.queue_url = self.sqs.create_queue(
            QueueName="appx-writes",
            Attributes={"RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "3"}), "VisibilityTimeout": "0"},
        )["QueueUrl"]
        self.env = make_env(keys, self.queue_url)
        self.clock = Clock()
        # The other regions of the eu zone, where the subject-key store has its copies.
        self.peers = {r: boto3.resource("dynamodb", region_name=r) for r in ZONE_REGIONS["eu"] if r != REGION}
        ddb = {"dynamodb": self.ddb, "zone_dynamodb": self.peers.__getitem__, "clock": self.clock}
        self.api = modules["api"].make_handler(self.env, sqs=self.sqs, **ddb)
        self.edge = modules["edge"].make_handler({}, config=edge_config)
        self.worker = modules["worker"].make_handler({**self.env, "POWERTOOLS_SERVICE_NAME": "appx-worker"}, **ddb)
        self.stream = modules["stream"].make_handler({**self.env, "POWERTOOLS_SERVICE_NAME": "appx-stream"}, **ddb)
        self._iterators: dict[str, str] = {}

    # ---- requests ----------------------------------------------------------------------
    def request(self, method, path, body=None, token=None, country="FR", headers=None, idem=None, raw_body=None, query=None, via_edge=True):
        hdrs = {"content-type": "application/json"} if (body is not None or raw_body is not None) else {}
        if token:
            hdrs["authorization"] = f"Bearer {token}"
        if idem:
            hdrs["idempotency-key"] = idem
        hdrs.update(headers or {})
        data = raw_body if raw_body is not None else (json.dumps(body).encode() if body is not None else b"")
        if not via_edge:
            return self.call_api(method, path, hdrs, data, query)
        cf_headers = {k.lower(): [{"key": k, "value": v}] for k, v in hdrs.items()}
        cf_headers["cloudfront-viewer-country"] = [{"key": "CloudFront-Viewer-Country", "value": country}]
        event = edge_event(method, path, cf_headers, data, query)
        out = self.edge(event, None)
        if "status" in out:  # generated response
            hdr = {k: v[0]["value"] for k, v in out.get("headers", {}).items()}
            return Resp(int(out["status"]), hdr, out.get("body", ""), at_edge=True)
        req_headers = {k: v[0]["value"] for k, v in out["headers"].items() if k not in ("cloudfront-viewer-country",)}
        body_out = out.get("body", {})
        data = base64.b64decode(body_out.get("data", "")) if body_out.get("data") else b""
        resp = self.call_api(method, path, req_headers, data, query)
        resp.origin = out.get("origin", {}).get("custom", {}).get("domainName")
        return resp

    def call_api(self, method, path, headers, data: bytes, query=None):
        event = api_event(method, path, headers, data, query)
        out = self.api(event, None)
        return Resp(out["statusCode"], {k.lower(): v for k, v in (out.get("headers") or {}).items()}, out.get("body") or "")

    # ---- background consumers ------------------------------------------------------------
    def run_worker(self, max_rounds: int = 5) -> list:
        """Receive from the writes queue and feed the worker like the SQS event source mapping."""
        results = []
        for _ in range(max_rounds):
            msgs = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10, AttributeNames=["All"]).get("Messages", [])
            if not msgs:
                break
            event = {"Records": [sqs_record(m, self.queue_url) for m in msgs]}
            out = self.worker(event, None)
            failed = {f["itemIdentifier"] for f in out["batchItemFailures"]}
            for m in msgs:
                if m["MessageId"] not in failed:
                    self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=m["ReceiptHandle"])
            results.append(out)
        return results

    def sweep(self) -> dict:
        """The scheduled erasure sweeper (EventBridge → worker)."""
        return self.worker({"appx": "erasure-sweep"}, None)

    def finish_erasures(self) -> dict:
        """Streams delivered, then the sweeper once the settle window (and retry delay) passed."""
        self.pump_streams()
        self.clock.advance(max(int(self.env.get("APPX_ERASURE_SETTLE_SECONDS", 60)), 60) + 1)
        out = self.sweep()
        self.pump_streams()
        return out

    def pump_streams(self, rounds: int = 4) -> None:
        """Deliver new stream records of posts and restricted tables to the stream consumer."""
        for _ in range(rounds):
            delivered = 0
            for table in ("appx-restricted-eu", "appx-restricted-de", "appx-posts"):
                records = self._read_stream(table)
                if records:
                    delivered += len(records)
                    out = self.stream({"Records": records}, None)
                    assert out == {"batchItemFailures": []}, out
            if not delivered:
                return

    def _read_stream(self, table):
        desc = self.ddb.meta.client.describe_table(TableName=table)["Table"]
        arn = desc["LatestStreamArn"]
        if table not in self._iterators:
            shard = self.streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
            self._iterators[table] = self.streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        out = self.streams.get_records(ShardIterator=self._iterators[table])
        self._iterators[table] = out["NextShardIterator"]
        records = out["Records"]
        for r in records:
            r["eventSourceARN"] = arn
            r["dynamodb"].pop("ApproximateCreationDateTime", None)
        return records

    def all_items(self) -> dict[str, list]:
        return {t: self.ddb.Table(t).scan()["Items"] for t in TABLES}

    def dump(self) -> str:
        """Every table and queue as one string (for 'no trace' assertions)."""
        msgs = []
        for url in (self.queue_url, self.dlq_url):
            attrs = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
            msgs.append(attrs["Attributes"]["ApproximateNumberOfMessages"])
        return json.dumps(self.all_items(), default=repr) + json.dumps(msgs)

    def edge_seal(self, values: dict, subject: str, zone: str) -> dict:
        """Fields sealed as the edge seals them (the zone's public key, one wrap)."""
        from appx_common.envelope import Sealer

        key = self.keys["zones"][zone]
        return Sealer(zone, key["keyId"], key["private"].public_key()).seal(values, subject)

    def signup(self, email="alice@example.org", name="Alice Example", phone="+33 6 12 34 56 78", birth="1990-04-01", country="FR", idem=None):
        body = {"email": email, "name": name, "phone": phone, "birthDate": birth}
        return self.request("POST", "/v1/users", body, country=country, idem=idem)


class Resp:
    def __init__(self, status, headers, body, at_edge=False):
        self.status, self.headers, self.text, self.at_edge = status, headers, body, at_edge
        self.origin = None

    @property
    def json(self):
        return json.loads(self.text) if self.text else None

    def __repr__(self):
        return f"<Resp {self.status} edge={self.at_edge} {self.text[:300]}>"


def edge_event(method, path, headers, data: bytes, query=None):
    from urllib.parse import urlencode

    return {
        "Records": [
            {
                "cf": {
                    "config": {"distributionDomainName": "d111.cloudfront.net", "distributionId": "E1", "eventType": "origin-request", "requestId": "x"},
                    "request": {
                        "clientIp": "203.0.113.1",
                        "method": method,
                        "uri": path,
                        "querystring": urlencode(query or {}),
                        "headers": headers,
                        "body": {"inputTruncated": False, "action": "read-only", "encoding": "base64", "data": base64.b64encode(data).decode()},
                        "origin": {"custom": {"domainName": f"origin.{DOMAIN}", "port": 443, "protocol": "https", "path": "", "sslProtocols": ["TLSv1.2"], "readTimeout": 30, "keepaliveTimeout": 5, "customHeaders": {}}},
                    },
                }
            }
        ]
    }


def api_event(method, path, headers, data: bytes, query=None):
    from urllib.parse import urlencode

    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": urlencode(query or {}),
        "queryStringParameters": dict(query) if query else None,
        "headers": {k.lower(): v for k, v in headers.items()},
        "requestContext": {
            "accountId": "123456789012", "apiId": "api", "domainName": "eu.origin.appx.example.eu", "domainPrefix": "eu",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "203.0.113.1", "userAgent": "pytest"},
            "requestId": "req", "routeKey": "$default", "stage": "$default", "time": "01/Jan/2026:00:00:00 +0000", "timeEpoch": 0,
        },
        "body": base64.b64encode(data).decode() if data else None,
        "isBase64Encoded": bool(data),
    }


def sqs_record(m, queue_url):
    return {
        "messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"],
        "attributes": m.get("Attributes", {}), "messageAttributes": {}, "md5OfBody": m.get("MD5OfBody", ""),
        "eventSource": "aws:sqs", "eventSourceARN": "arn:aws:sqs:eu-central-1:123456789012:appx-writes", "awsRegion": REGION,
    }


@pytest.fixture
def world(modules, keys, edge_config):
    from moto import mock_aws

    with mock_aws():
        yield World(modules, keys, edge_config)
