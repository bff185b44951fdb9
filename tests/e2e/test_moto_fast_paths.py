"""The local runtime's moto fast paths (tools/local/aws.py) answer exactly as moto's own code:
the same pages of Query and Scan (items, order, Count, ScannedCount, LastEvaluatedKey), with
key conditions, descending order, Limit, ExclusiveStartKey, filters, ties on an index's sort
key, items outside the index, string and number keys. Each case runs twice, patched and with
moto's originals put back, and the raw responses must be identical."""

from __future__ import annotations

import json
import sys
import threading

import boto3
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto import mock_aws
from moto.core.serialize import BaseJSONSerializer
from moto.dynamodb.models.dynamo_type import DynamoType
from moto.dynamodb.models.table import Table

from tools.local import aws

TEXT = st.text(alphabet="aAbZ09 #-üßé🚀", min_size=1, max_size=3)
POST = st.fixed_dictionaries(
    {"pk": TEXT, "sk": TEXT, "n": st.integers(-5, 5)},
    optional={"authorId": st.sampled_from(["a1", "a2"]), "createdAt": st.sampled_from(["t1", "t2", "t3", "t1ü"]),
              "blob": st.binary(min_size=1, max_size=3), "tags": st.sets(TEXT, min_size=1, max_size=2)},
)


def _requests(table: str, range_type: str) -> list[dict]:
    gsi = {"TableName": table, "IndexName": "byAuthor"}
    return [
        {**gsi, "KeyConditionExpression": "authorId = :a", "ExpressionAttributeValues": {":a": {"S": "a1"}}},
        {**gsi, "KeyConditionExpression": "authorId = :a AND createdAt <= :t", "ExpressionAttributeValues": {":a": {"S": "a1"}, ":t": {"S": "t2"}}, "Limit": 2},
        {**gsi, "KeyConditionExpression": "authorId = :a AND begins_with(createdAt, :t)", "ExpressionAttributeValues": {":a": {"S": "a2"}, ":t": {"S": "t1"}},
         "ScanIndexForward": False, "Limit": 3},
        {**gsi, "KeyConditionExpression": "authorId = :a", "FilterExpression": "n > :z", "ExpressionAttributeValues": {":a": {"S": "a1"}, ":z": {"N": "0"}}, "Limit": 2},
        {"TableName": table, "KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"S": "a"}}, "Limit": 1},
        {"TableName": table, "KeyConditionExpression": "pk = :p AND sk BETWEEN :x AND :y",
         "ExpressionAttributeValues": {":p": {"S": "a"}, ":x": {range_type: "0" if range_type == "S" else "4"}, ":y": {range_type: "b" if range_type == "S" else "11"}}},
        {"TableName": table, "Limit": 3},
        {"TableName": table, "FilterExpression": "attribute_exists(#b)", "ExpressionAttributeNames": {"#b": "blob"}},
    ]


def _pages(client, request: dict) -> list[dict]:
    call = client.scan if "KeyConditionExpression" not in request else client.query
    pages, kwargs = [], dict(request)
    while True:
        page = call(**kwargs)
        page.pop("ResponseMetadata")
        pages.append(page)
        if "LastEvaluatedKey" not in page:
            return pages
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _answers(posts: list[dict], range_type: str) -> list[list[dict]]:
    with mock_aws():
        client = boto3.client("dynamodb", region_name="eu-central-1", aws_access_key_id="testing", aws_secret_access_key="testing")
        client.create_table(
            TableName="t", BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": range_type},
                                  {"AttributeName": "authorId", "AttributeType": "S"}, {"AttributeName": "createdAt", "AttributeType": "S"}],
            GlobalSecondaryIndexes=[{"IndexName": "byAuthor", "Projection": {"ProjectionType": "ALL"},
                                     "KeySchema": [{"AttributeName": "authorId", "KeyType": "HASH"}, {"AttributeName": "createdAt", "KeyType": "RANGE"}]}],
        )
        for post in posts:
            item = {k: {"S": v} for k, v in post.items() if isinstance(v, str)}
            item["n"] = {"N": str(post["n"])}
            if range_type == "N":
                item["sk"] = {"N": str(len(post["sk"]) * 7 - 3)}
            if "blob" in post:
                item["blob"] = {"B": post["blob"]}
            if "tags" in post:
                item["tags"] = {"SS": sorted(post["tags"])}
            client.put_item(TableName="t", Item=item)
        return [_pages(client, r) for r in _requests("t", range_type)]


@pytest.fixture(scope="module")
def originals():
    """The patched functions and moto's own, to swap in and out."""
    aws._fast_string_keys()
    aws._fast_key_sorts()
    aws._fast_attribute_values()
    return [(Table, name, getattr(Table, name).appx_original) for name in ("query", "all_items", "sorted_items")] + [
        (BaseJSONSerializer, "_serialize_type_structure", BaseJSONSerializer._serialize_type_structure.appx_original),
        (DynamoType, "cast_value", property(DynamoType.cast_value.fget.appx_original)),
    ]


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(posts=st.lists(POST, max_size=25), range_type=st.sampled_from(["S", "N"]))
def test_query_and_scan_pages_are_exactly_motos(originals, posts, range_type, monkeypatch):
    patched = _answers(posts, range_type)
    with monkeypatch.context() as m:
        for owner, name, original in originals:
            m.setattr(owner, name, original)
        assert _answers(posts, range_type) == patched



# ---- TransactWriteItems: item-level rollback instead of whole-table copies -------------------
KEY_PK, KEY_SK = st.sampled_from(["a", "b", "c"]), st.sampled_from(["1", "2"])
CONDITION = st.sampled_from([None, "attribute_not_exists(pk)", "attribute_exists(pk)", "v = :v"])
STORED = st.fixed_dictionaries({"pk": KEY_PK, "sk": KEY_SK, "v": st.sampled_from(["x", "y"]),
                                "n": st.sampled_from([{"N": "1"}, {"S": "one"}])})  # ADD on a string fails validation
OPERATION = st.fixed_dictionaries({
    "kind": st.sampled_from(["Put", "Delete", "Update", "ConditionCheck"]), "table": st.sampled_from(["ranged", "hashed", "missing"]),
    "pk": KEY_PK, "sk": KEY_SK, "condition": CONDITION, "update": st.sampled_from(["SET v = :v", "ADD n :one", "SET v = :v, w = :v"]),
    "value": st.sampled_from(["x", "y"]),
})


def _transaction_entry(op: dict) -> dict:
    key = {"pk": {"S": op["pk"]}, **({"sk": {"S": op["sk"]}} if op["table"] != "hashed" else {})}
    body: dict = {"TableName": f"t-{op['table']}"}
    values: dict = {}
    if op["kind"] == "Put":
        body["Item"] = {**key, "v": {"S": op["value"]}}
    else:
        body["Key"] = key
    if op["kind"] == "Update":
        body["UpdateExpression"] = op["update"]
        values = {":v": {"S": op["value"]}, ":one": {"N": "1"}} if "ADD" in op["update"] else {":v": {"S": op["value"]}}
    condition = op["condition"] or ("attribute_exists(pk)" if op["kind"] == "ConditionCheck" else None)
    if condition:
        body["ConditionExpression"] = condition
        if ":v" in condition:
            values = {**values, ":v": {"S": op["value"]}}
    if values:
        body["ExpressionAttributeValues"] = values
    return {op["kind"]: body}


def _transaction_outcome(stored: list[dict], operations: list[dict]) -> dict:
    """What a transaction leaves: its error, every item of both tables and every stream record."""
    from moto.dynamodb.models import dynamodb_backends

    with mock_aws():
        client = boto3.client("dynamodb", region_name="eu-central-1", aws_access_key_id="testing", aws_secret_access_key="testing")
        for name, keys in (("t-ranged", ("pk", "sk")), ("t-hashed", ("pk",))):
            client.create_table(TableName=name, BillingMode="PAY_PER_REQUEST",
                                KeySchema=[{"AttributeName": k, "KeyType": t} for k, t in zip(keys, ("HASH", "RANGE"))],
                                AttributeDefinitions=[{"AttributeName": k, "AttributeType": "S"} for k in keys],
                                StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"})
        for item in stored:
            for name in ("t-ranged", "t-hashed"):
                client.put_item(TableName=name, Item={k: ({"S": v} if isinstance(v, str) else v) for k, v in item.items()
                                                      if name == "t-ranged" or k != "sk"})
        try:
            client.transact_write_items(TransactItems=[_transaction_entry(op) for op in operations])
            error = None
        except client.exceptions.ClientError as exc:
            error = {k: exc.response.get(k) for k in ("Error", "CancellationReasons")}
        tables = dynamodb_backends["123456789012"]["eu-central-1"].tables
        return {
            "error": error,
            "items": {name: sorted((json.dumps(i, sort_keys=True) for i in client.scan(TableName=name)["Items"])) for name in ("t-ranged", "t-hashed")},
            "streams": {name: [(r.record["eventName"], r.record["dynamodb"].get("Keys"), r.record["dynamodb"].get("NewImage"),
                                r.record["dynamodb"].get("OldImage")) for r in tables[name].stream_shard.items] for name in ("t-ranged", "t-hashed")},
            "buckets": {name: sorted(str(k) for k, bucket in tables[name].items.items() if bucket) for name in ("t-ranged", "t-hashed")},
        }


@settings(max_examples=60, deadline=None)
@given(stored=st.lists(STORED, max_size=5), operations=st.lists(OPERATION, min_size=1, max_size=4))
def test_transactions_leave_exactly_what_motos_whole_table_rollback_leaves(stored, operations):
    """Committed or cancelled (a failed condition, an item named twice, a validation error, a
    missing table), a transaction leaves the same items, stream records and error as moto's own."""
    from moto.dynamodb.models import DynamoDBBackend

    aws._item_level_transactions()
    patched = _transaction_outcome(stored, operations)
    fast = DynamoDBBackend.transact_write_items
    DynamoDBBackend.transact_write_items = fast.appx_original
    try:
        assert _transaction_outcome(stored, operations) == patched
    finally:
        DynamoDBBackend.transact_write_items = fast


def test_conditional_puts_through_the_local_server_are_atomic():
    """DynamoDB's conditional writes are atomic: of many concurrent `attribute_not_exists` puts of
    one key exactly one succeeds (moto's threaded server alone lets several through: it reads,
    then writes). Threads switch every 10 µs here so that a check and its write interleave often."""
    server = aws.MotoServer().start()
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    try:
        client = aws.client("dynamodb", "eu-west-1", server.url)
        client.create_table(TableName="keys", BillingMode="PAY_PER_REQUEST", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}])
        keys, writers = [f"k{i}" for i in range(40)], 6
        wins: dict[str, int] = {k: 0 for k in keys}
        lock = threading.Lock()

        def write(n: int) -> None:
            own = aws.client("dynamodb", "eu-west-1", server.url)
            for k in keys:
                try:
                    own.put_item(TableName="keys", Item={"pk": {"S": k}, "writer": {"N": str(n)}, "pad": {"S": "x" * 2000}},
                                 ConditionExpression="attribute_not_exists(pk)")
                except own.exceptions.ConditionalCheckFailedException:
                    continue
                with lock:
                    wins[k] += 1

        threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert wins == {k: 1 for k in keys}
    finally:
        sys.setswitchinterval(interval)
        server.stop()
