"""The local runtime's moto fast paths (tools/local/aws.py) answer exactly as moto's own code:
the same pages of Query and Scan (items, order, Count, ScannedCount, LastEvaluatedKey), with
key conditions, descending order, Limit, ExclusiveStartKey, filters, ties on an index's sort
key, items outside the index, string and number keys. Each case runs twice, patched and with
moto's originals put back, and the raw responses must be identical."""

from __future__ import annotations

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

