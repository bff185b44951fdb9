"""Local AWS: one moto server on 127.0.0.1 whose backends are separated per region (moto keys
every backend by account and region, taken from each request's SigV4 credential scope).

A small WSGI middleware in front of moto injects storage faults per region (503s for that
region's DynamoDB/SQS calls), which is how "region down" and "storage outage" reach the
functions without touching their code. Stream records are read in-process from moto's
backends (no polling over HTTP: the machine has two cores).
"""

from __future__ import annotations

import copy
import json
import re
import sys
import threading
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from werkzeug.serving import make_server

from components.config import DEAD_LETTER_RETENTION_SECONDS
from tools.local.topology import ACCOUNT_ID, DLQ_NAME, QUEUE_NAME, STREAM_FAILURES_NAME, Topology

# The functions' own helpers, importable as in the Lambda bundle.
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "functions"))
from appx_common.stream_redrive import lambda_event_value  # noqa: E402

_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/([a-z0-9-]+)/([a-z0-9-]+)/aws4_request")
CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
LOCAL_VISIBILITY_TIMEOUT_S = 3


ALL_SERVICES = ("dynamodb", "sqs", "kms")
# One DynamoDB request at a time. DynamoDB makes every conditional write and transaction atomic;
# moto, served by threads, does not: a conditional put is a read then a write (two concurrent
# `attribute_not_exists` puts can both succeed), and a Scan or Query that iterates a table while
# another request writes to it fails with "dictionary changed size during iteration" (a 500 the
# functions then retry). Every DynamoDB and DynamoDB Streams request to the moto server, and every
# in-process view of its tables below, holds this lock. Python runs one thread at a time anyway,
# so the lock costs the emulation next to nothing.
DYNAMODB_LOCK = threading.RLock()


class StorageFaults:
    """(region, service) pairs that answer 503 ServiceUnavailable (thread-safe)."""

    def __init__(self) -> None:
        self._down: dict[str, set[str]] = {}
        self._lock = threading.Lock()

    def set(self, region: str, down: bool, services=ALL_SERVICES) -> None:
        with self._lock:
            current = self._down.setdefault(region, set())
            (current.update if down else current.difference_update)(services)

    def failing(self, region: str, service: str) -> bool:
        return service in self._down.get(region, ())


class _FaultMiddleware:
    def __init__(self, app, faults: StorageFaults):
        self.app, self.faults = app, faults

    def __call__(self, environ, start_response):
        m = _SCOPE.search(environ.get("HTTP_AUTHORIZATION", ""))
        if m and self.faults.failing(m.group(1), m.group(2)):
            body = json.dumps({"__type": "com.amazonaws.dynamodb.v20120810#ServiceUnavailable",
                               "message": f"local fault: {m.group(1)} storage unavailable"}).encode()
            start_response("503 Service Unavailable", [("Content-Type", "application/x-amz-json-1.0"),
                                                        ("Content-Length", str(len(body)))])
            return [body]
        if environ.get("HTTP_X_AMZ_TARGET", "").startswith("DynamoDB"):  # DynamoDB_… and DynamoDBStreams_…
            with DYNAMODB_LOCK:
                response = self.app(environ, start_response)
                try:
                    return [b"".join(response)]
                finally:
                    getattr(response, "close", lambda: None)()
        return self.app(environ, start_response)


def _fast_string_keys() -> None:
    """moto compares key attributes through ``DynamoType.cast_value``, which tries five type
    tests before returning a string as it is: a Query over 20,000 items then spends seconds
    there (sorting, key matching). Strings and binaries are returned at once; results do not
    change (every other type takes moto's own path)."""
    from moto.dynamodb.models.dynamo_type import DynamoType

    original = DynamoType.cast_value
    if getattr(original.fget, "appx_fast", False):
        return

    def cast_value(self):
        return self.value if self.type in ("S", "B") else original.fget(self)

    cast_value.appx_fast = True
    cast_value.appx_original = original.fget  # for the equivalence tests
    DynamoType.cast_value = property(cast_value)


def _string_key(values: list) -> tuple | None:
    """The plain strings of moto key values, or None unless every one is a string.

    For strings DynamoType's ``==`` and ``<`` are exactly str's (type and value equal; value
    order), so sorting by these tuples orders items as sorting by the DynamoTypes does."""
    for v in values:
        if v is None or v.type != "S":
            return None
    return tuple(v.value for v in values)


_IN_QUERY = threading.local()


def _fast_key_sorts() -> None:
    """moto's Query sorts the whole table by its keys (``Table.all_items``) and then sorts the
    matches again by a key that is unique per item (``Table.sorted_items`` on an index: index
    keys then table keys; the range key on the table), each through DynamoType's comparison
    operators: over 20,000 items that took about a second per Query, which outlasted the local
    edge's origin timeout across an export's pages. Within Query the first sort cannot change
    the result (the second one decides the order), so it is skipped there; and when every key
    compared is a string, sorts use the plain strings (same order, same stable ties). Any other
    key type takes moto's own code, and nothing else of Query changes: key conditions, Limit,
    the 1 MB page, ExclusiveStartKey/LastEvaluatedKey, filters and projections stay moto's."""
    from moto.dynamodb.models.table import Table

    if getattr(Table.query, "appx_fast", False):
        return
    original_query, original_all_items, original_sorted_items = Table.query, Table.all_items, Table.sorted_items

    def query(self, *args, **kwargs):
        _IN_QUERY.active = True
        try:
            return original_query(self, *args, **kwargs)
        finally:
            _IN_QUERY.active = False

    def all_items(self):
        items = [item for hash_set in self.items.values()
                 for item in (hash_set.values() if self.range_key_attr else (hash_set,))]
        if getattr(_IN_QUERY, "active", False):
            return items
        keys = [_string_key([x.hash_key, x.range_key] if x.range_key else [x.hash_key]) for x in items]
        if None in keys:
            return original_all_items(self)
        order = sorted(range(len(items)), key=keys.__getitem__)
        return [items[i] for i in order]

    def sorted_items(self, hash_key_attrs, range_key_attrs, items):
        attrs = self._generate_attr_to_sort_by(hash_key_attrs, range_key_attrs)
        keys = [_string_key([x.attrs[a] for a in attrs]) for x in items]
        if None in keys:
            return original_sorted_items(self, hash_key_attrs, range_key_attrs, items)
        order = sorted(range(len(items)), key=keys.__getitem__)
        items[:] = [items[i] for i in order]
        return items

    query.appx_fast = True
    for patched, original in ((query, original_query), (all_items, original_all_items), (sorted_items, original_sorted_items)):
        patched.appx_original = original  # for the equivalence tests
    Table.query, Table.all_items, Table.sorted_items = query, all_items, sorted_items


def _fast_attribute_values() -> None:
    """moto serialises every response by walking botocore's shapes: for each attribute value of
    each item it tries all ten members of ``AttributeValue`` through an attribute picker, so a
    1 MB Scan page took seconds (the e2e leak scan reads every table of every region). A string
    or number value, ``{"S": str}`` / ``{"N": str}``, is written as that walk writes it; every
    other value (binary, sets, maps, lists, booleans, null) takes moto's walk."""
    from moto.core.serialize import BaseJSONSerializer

    original = BaseJSONSerializer._serialize_type_structure
    if getattr(original, "appx_fast", False):
        return

    def _serialize_type_structure(self, serialized, value, shape, key):
        if key and shape.name == "AttributeValue" and type(value) is dict and len(value) == 1:
            (kind, plain), = value.items()
            if kind in ("S", "N") and type(plain) is str:
                serialized[self.get_serialized_name(shape, key)] = {kind: plain}
                return
        original(self, serialized, value, shape, key)

    _serialize_type_structure.appx_fast = True
    _serialize_type_structure.appx_original = original  # for the equivalence tests
    BaseJSONSerializer._serialize_type_structure = _serialize_type_structure


def _item_level_transactions() -> None:
    """moto's TransactWriteItems deep-copies every table a transaction names before it starts, to
    put the whole table back if the transaction is cancelled: with the 20,000 posts of the e2e
    export that is about 2.3 s of CPU for every POST /v1/posts (its transaction names the posts
    table), held under the one interpreter lock the whole runtime shares, and the functions'
    requests behind it ran past the edge's 10 s origin timeout. Here a transaction keeps a copy of
    only the items it names, and the length of each named table's stream; when moto cancels it,
    those items are put back as they were and the stream records it added are dropped, which is
    what moto's whole-table copy restores. Conditions, validation, errors and the writes
    themselves stay moto's code; under DYNAMODB_LOCK nothing else runs in between, as DynamoDB's
    transactions are isolated."""
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.table import Table

    original = DynamoDBBackend.transact_write_items
    if getattr(original, "appx_fast", False):
        return

    def transact_write_items(self, transact_items):
        with DYNAMODB_LOCK:
            before = _TransactionSnapshot(self, transact_items)
            Table.__deepcopy__ = lambda table, memo: table  # moto's "backup" is the table itself, its rollback a no-op
            try:
                return original(self, transact_items)
            except Exception:
                before.restore()
                raise
            finally:
                del Table.__deepcopy__

    transact_write_items.appx_fast = True
    transact_write_items.appx_original = original  # for the equivalence tests
    DynamoDBBackend.transact_write_items = transact_write_items


class _TransactionSnapshot:
    """The items a transaction names as they are before it (deep copies: moto updates items in
    place), and the length of each named table's stream."""

    def __init__(self, backend, transact_items: list[dict]):
        from moto.dynamodb.models.dynamo_type import DynamoType

        self.items: dict[tuple, tuple] = {}
        self.streams: dict[str, tuple] = {}
        for entry in transact_items:
            try:
                op = next(iter(entry.values()))
                table = backend.tables[op["TableName"]]
                key = op["Key"] if "Key" in op else op["Item"]
                hash_key = DynamoType(key[table.hash_key_attr])
                range_key = DynamoType(key[table.range_key_attr]) if table.range_key_attr else None
            except (KeyError, TypeError, AttributeError, StopIteration):
                continue  # moto refuses this entry before writing it
            self.items.setdefault((table.name, hash_key, range_key),
                                  (table, hash_key, range_key, copy.deepcopy(_stored_item(table, hash_key, range_key))))
            if table.stream_shard is not None:
                self.streams.setdefault(table.name, (table.stream_shard, len(table.stream_shard.items)))

    def restore(self) -> None:
        for table, hash_key, range_key, item in self.items.values():
            if not table.range_key_attr:
                if item is None:
                    table.items.pop(hash_key, None)
                else:
                    table.items[hash_key] = item
            elif item is None:
                bucket = table.items.get(hash_key, {})
                bucket.pop(range_key, None)
                if not bucket:
                    table.items.pop(hash_key, None)
            else:
                table.items[hash_key][range_key] = item
        for shard, length in self.streams.values():
            del shard.items[length:]


def _stored_item(table, hash_key, range_key):
    bucket = table.items.get(hash_key)
    if bucket is None or not table.range_key_attr:
        return bucket
    return bucket.get(range_key)


class MotoServer:
    def __init__(self, host: str = "127.0.0.1", port: int = 0):
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app

        _fast_string_keys()
        _fast_key_sorts()
        _fast_attribute_values()
        _item_level_transactions()
        self.faults = StorageFaults()
        app = _FaultMiddleware(DomainDispatcherApplication(create_backend_app), self.faults)
        self._server = make_server(host, port, app, threaded=True, request_handler=MotoRequestHandler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="moto", daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> "MotoServer":
        # moto keeps its backends in process memory: a runtime started after another one in the
        # same process (tests) must not find the previous run's tables and queues.
        from moto.backends import get_backend

        for service in (*ALL_SERVICES, "dynamodbstreams"):
            get_backend(service).reset()
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def _config(**config) -> Config:
    return Config(retries={"max_attempts": 2, "mode": "standard"}, connect_timeout=2, read_timeout=10, **config)


def client(service: str, region: str, endpoint: str, **config):
    return boto3.session.Session().client(service, region_name=region, endpoint_url=endpoint, config=_config(**config), **CREDENTIALS)


def resource(service: str, region: str, endpoint: str, **config):
    return boto3.session.Session().resource(service, region_name=region, endpoint_url=endpoint, config=_config(**config), **CREDENTIALS)


def provision(topology: Topology, endpoint: str) -> dict[str, dict[str, str]]:
    """Create every region's tables and queues. Returns region -> {queueUrl, dlqUrl, streamFailureQueueUrl}."""
    out: dict[str, dict[str, str]] = {}
    for region in topology.cell_regions:
        ddb = client("dynamodb", region, endpoint)
        for spec in topology.tables_in(region):
            attrs = {a for a, _ in spec.keys}
            for gsi in spec.gsis:
                attrs |= {k["AttributeName"] for k in gsi["KeySchema"]}
            args: dict[str, Any] = dict(
                TableName=spec.name,
                KeySchema=[{"AttributeName": a, "KeyType": t} for a, t in spec.keys],
                AttributeDefinitions=[{"AttributeName": a, "AttributeType": "S"} for a in sorted(attrs)],
                BillingMode="PAY_PER_REQUEST",
                Tags=[{"Key": "data-class", "Value": spec.data_class}],
            )
            if spec.gsis:
                args["GlobalSecondaryIndexes"] = list(spec.gsis)
            # Global tables stream (AWS enables it; replication is emulated from the streams).
            if spec.stream_to_function or (spec.replicated and len(spec.replicas) > 1):
                args["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
            ddb.create_table(**args)
            if spec.ttl_attribute:
                ddb.update_time_to_live(TableName=spec.name, TimeToLiveSpecification={"Enabled": True, "AttributeName": spec.ttl_attribute})
        sqs = client("sqs", region, endpoint)
        retained = {"MessageRetentionPeriod": str(DEAD_LETTER_RETENTION_SECONDS)}
        dlq = sqs.create_queue(QueueName=DLQ_NAME, Attributes=retained)["QueueUrl"]
        failures = sqs.create_queue(QueueName=STREAM_FAILURES_NAME, Attributes=retained)["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        queue = sqs.create_queue(
            QueueName=QUEUE_NAME,
            Attributes={
                "VisibilityTimeout": str(LOCAL_VISIBILITY_TIMEOUT_S),
                "MessageRetentionPeriod": str(topology.queue_retention_s.get(region, 345600)),
                "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(topology.max_receive_count.get(region, 5))}),
            },
        )["QueueUrl"]
        out[region] = {"queueUrl": queue, "dlqUrl": dlq, "streamFailureQueueUrl": failures}
    return out


# ---------------------------------------------------------------------------------------------
# In-process views of moto's backends (same process as the moto server)


def _backend(region: str):
    from moto.dynamodb.models import dynamodb_backends

    return dynamodb_backends[ACCOUNT_ID][region]


def import_items(region: str, table: str, items: list[dict]) -> int:
    """Bulk-load items (DynamoDB JSON) into a region's table as a DynamoDB import does: no
    stream records, so neither replication nor projections run for them. The table's stream is
    detached meanwhile: use it on an otherwise quiet table (test data set-up)."""
    with DYNAMODB_LOCK:
        t = _backend(region).tables[table]
        shard, t.stream_shard = t.stream_shard, None
        try:
            for item in items:
                t.put_item(item)
        finally:
            t.stream_shard = shard
    return len(items)


def stream_items(region: str, table: str, start: int = 0, stop: int | None = None) -> list:
    """A table's moto StreamRecords ``[start:stop]`` (moto appends; never trims without ESMs),
    copied between requests: never the records of a transaction that is about to be cancelled.
    Pollers ask from their cursor, so a poll copies only what is new however long the stream."""
    with DYNAMODB_LOCK:
        try:
            return _backend(region).tables[table].stream_shard.items[start:stop]
        except (KeyError, AttributeError):
            return []


def stream_length(region: str, table: str) -> int:
    with DYNAMODB_LOCK:
        try:
            return len(_backend(region).tables[table].stream_shard.items)
        except (KeyError, AttributeError):
            return 0


def stream_shard_id(region: str, table: str) -> str:
    try:
        return _backend(region).tables[table].stream_shard.id
    except (KeyError, AttributeError):
        return ""


def table_items(region: str, table: str) -> list[dict]:
    """Every item of a table in a region, in DynamoDB JSON."""
    with DYNAMODB_LOCK:
        try:
            t = _backend(region).tables[table]
        except KeyError:
            return []
        return [item.to_json()["Attributes"] for item in list(t.all_items())]


def stream_record_event(record, region: str, table: str) -> dict:
    """A moto StreamRecord as the record of a DynamoDB Streams Lambda event."""
    import copy

    rec = copy.deepcopy(record.record)
    rec["awsRegion"] = region
    rec["eventSourceARN"] = f"arn:aws:dynamodb:{region}:{ACCOUNT_ID}:table/{table}/stream/local"
    return lambda_event_value(rec)


def table_has(region: str, table: str, keys: dict) -> bool:
    from moto.dynamodb.models.dynamo_type import DynamoType

    with DYNAMODB_LOCK:
        try:
            t = _backend(region).tables[table]
        except KeyError:
            return False
        hk = DynamoType(keys[t.hash_key_attr])
        rk = DynamoType(keys[t.range_key_attr]) if t.range_key_attr else None
        try:
            return t.get_item(hk, rk) is not None
        except Exception:
            return any(all(item.get(k) == v for k, v in keys.items()) for item in table_items(region, table))
