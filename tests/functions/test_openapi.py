"""docs/api/openapi.yaml is a valid OpenAPI 3.1 document with exactly the handler's routes, and
real responses validate against its schemas."""

from __future__ import annotations

import re
from pathlib import Path

import jsonschema
import yaml
from openapi_spec_validator import validate

SPEC_PATH = Path(__file__).resolve().parents[2] / "docs" / "api" / "openapi.yaml"


def spec():
    return yaml.safe_load(SPEC_PATH.read_text())


def handler_routes(app) -> set[tuple[str, str]]:
    routes = set()
    for route in app.resolver._static_routes + app.resolver._dynamic_routes:
        path = re.sub(r"<(\w+)>", lambda m: "{" + re.sub(r"_(\w)", lambda n: n.group(1).upper(), m.group(1)) + "}", route.path)
        for method in route.method.split("|") if isinstance(route.method, str) else route.method:
            routes.add((method.upper(), path))
    return routes


def test_spec_valid():
    assert spec()["openapi"] == "3.1.0"
    validate(spec())


def test_routes_in_step(world):
    documented = {(m.upper(), p) for p, ops in spec()["paths"].items() for m in ops if m in ("get", "post", "put", "patch", "delete")}
    assert handler_routes(world.api.app) == documented


def _schema(doc, path, method, status):
    resolver_doc = spec()
    op = resolver_doc["paths"][path][method]["responses"][str(status)]
    if "$ref" in op:
        op = resolver_doc["components"]["responses"][op["$ref"].rsplit("/", 1)[1]]
    media = next(iter(op["content"].values()))
    schema = {**media["schema"], "components": resolver_doc["components"]}
    schema = _rebase(schema)
    jsonschema.validate(doc, schema)


def _rebase(node):
    if isinstance(node, dict):
        return {k: ("#/components/" + v.split("#/components/")[1] if k == "$ref" else _rebase(v)) for k, v in node.items()}
    if isinstance(node, list):
        return [_rebase(v) for v in node]
    return node


def test_responses_match_schemas(world):
    r = world.signup()
    _schema(r.json, "/v1/users", "post", 201)
    t = r.json["token"]
    _schema(world.request("GET", "/v1/me", token=t).json, "/v1/me", "get", 200)
    _schema(world.request("PATCH", "/v1/me", {"name": "B"}, token=t).json, "/v1/me", "patch", 200)
    p = world.request("POST", "/v1/posts", {"text": "x"}, token=t).json
    _schema(p, "/v1/posts", "post", 201)
    world.pump_streams()
    _schema(world.request("GET", f"/v1/posts/{p['postId']}").json, "/v1/posts/{postId}", "get", 200)
    _schema(world.request("GET", "/v1/feed").json, "/v1/feed", "get", 200)
    _schema(world.request("GET", "/v1/me/export", token=t).json, "/v1/me/export", "get", 200)
    _schema(world.request("GET", "/v1/me/sessions", token=t).json, "/v1/me/sessions", "get", 200)
    _schema(world.request("POST", "/v1/me/sessions", token=t).json, "/v1/me/sessions", "post", 201)
    rotated = world.request("POST", "/v1/me/token:rotate", token=t).json
    _schema(rotated, "/v1/me/token:rotate", "post", 201)
    _schema(world.request("GET", "/v1/me", token=t).json, "/v1/me", "get", 401)
    _schema(world.request("PUT", "/v1/me", token=rotated["token"]).json, "/v1/me", "get", 401)  # any problem document
    _schema(world.request("GET", "/health").json, "/health", "get", 200)
    _schema(world.request("GET", "/v1/me").json, "/v1/me", "get", 401)
