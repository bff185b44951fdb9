"""A tiny stand-in for the real functions, to test the runtime machinery on its own:
routing, replication, health, cache, failover and faults do not depend on the app's logic."""

from __future__ import annotations

import json
import uuid

import boto3
from botocore.config import Config


def _ddb(env):
    return boto3.client("dynamodb", region_name=env["APPX_REGION"], endpoint_url=env["AWS_ENDPOINT_URL"],
                        aws_access_key_id="testing", aws_secret_access_key="testing",
                        config=Config(retries={"max_attempts": 1}, connect_timeout=1, read_timeout=3))


def _resp(status, doc, headers=None):
    return {"statusCode": status, "headers": {"Content-Type": "application/json", **(headers or {})}, "body": json.dumps(doc)}


def api(env):
    ddb = _ddb(env)
    zones = json.loads(env["APPX_ZONES"])

    def handler(event, context):
        method = event["requestContext"]["http"]["method"]
        path = event["rawPath"]
        try:
            if path == "/health":
                ddb.describe_table(TableName=env["APPX_POSTS_TABLE"])
                return _resp(200, {"ok": True, "region": env["APPX_REGION"]})
            if method == "POST" and path == "/v1/users":
                zone = event["headers"].get("x-zone", "eu")
                if zone not in zones:
                    return _resp(503, {"error": "zone not served"}, {"Retry-After": "5"})
                uid = f"u_{zone}_{uuid.uuid4().hex}"
                body = json.loads(event.get("body") or "{}")
                ddb.put_item(TableName=zones[zone]["table"], Item={"pk": {"S": uid}, "sk": {"S": "profile"}, "email": {"S": body.get("email", "")}})
                return _resp(201, {"id": uid, "region": env["APPX_REGION"]})
            if method == "POST" and path == "/v1/posts":
                pid = uuid.uuid4().hex
                ddb.put_item(TableName=env["APPX_POSTS_TABLE"], Item={"pk": {"S": pid}, "sk": {"S": "post"}, "text": {"S": event.get("body") or ""}})
                return _resp(201, {"id": pid})
            if method == "GET" and path.startswith("/v1/posts/"):
                item = ddb.get_item(TableName=env["APPX_POSTS_TABLE"], Key={"pk": {"S": path[10:]}, "sk": {"S": "post"}}).get("Item")
                if not item:
                    return _resp(404, {"error": "not found"}, {"Cache-Control": "no-store"})
                return _resp(200, {"id": path[10:], "text": item["text"]["S"], "region": env["APPX_REGION"]}, {"Cache-Control": "public, max-age=30"})
            if method == "GET" and path == "/errors/unavailable":
                return _resp(200, {"status": 503, "from": env["APPX_REGION"]}, {"Retry-After": "30", "Cache-Control": "public, max-age=60"})
            if method == "GET" and path == "/gateway-timeout":
                return _resp(504, {"message": "Endpoint request timed out"})
            if method == "GET" and path == "/boom":
                raise RuntimeError("boom")
        except Exception as exc:  # noqa: BLE001
            if path == "/boom":
                raise
            return _resp(503, {"error": exc.__class__.__name__}, {"Retry-After": "2"})
        return _resp(404, {"error": "no route"})

    return handler


def edge(config):
    def handler(event, context):
        request = event["Records"][0]["cf"]["request"]
        if "x-standin-delete" in request["headers"]:  # a result CloudFront rejects: a read-only header deleted
            del request["headers"][request["headers"]["x-standin-delete"][0]["value"]]
        country = request["headers"].get("cloudfront-viewer-country", [{"value": ""}])[0]["value"]
        if request["method"] == "POST" and request["uri"] == "/v1/users":
            zone = config["countries"].get(country)
            if not zone:
                return {"status": "403", "statusDescription": "Forbidden", "headers": {}, "body": "country not served"}
            host = config["zones"][zone]["originHost"]
            request["origin"]["custom"]["domainName"] = host
            request["headers"]["host"] = [{"key": "Host", "value": host}]
            request["headers"]["x-zone"] = [{"key": "X-Zone", "value": zone}]
        return request

    return handler


FACTORIES = {"api": api, "edge": edge}
