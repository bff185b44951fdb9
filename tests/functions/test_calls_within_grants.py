"""The grants of tests/infra/test_least_privilege.py are what the handlers really call: every
DynamoDB and SQS call each function makes in a full scenario (sign-ups in both zones, reads,
writes, export, queued writes applied by the worker, erasures, the stream consumer keeping the
feed and propagating erasure) is granted to its role, and every such grant is used."""

from __future__ import annotations

import contextlib
import functools

from tests.functions.conftest import REGION, ZONE_REGIONS
from tests.infra.test_least_privilege import erasure_job, expected, merged

TRANSACT = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem", "ConditionCheck": "ConditionCheckItem"}


class CallRecorder:
    """Attributes every DynamoDB/SQS call to the function running when it is made."""

    def __init__(self, world):
        self.world, self.current, self.calls = world, None, {}
        clients = {world.ddb.meta.client: "", world.sqs: "", **{peer.meta.client: f"@{r}" for r, peer in world.peers.items()}}
        for client, where in clients.items():
            client.meta.events.register("before-parameter-build.*.*", functools.partial(self._record, where))
        for name in ("api", "worker", "stream"):
            setattr(world, name, self._attributed(name, getattr(world, name)))

    def _attributed(self, name, handler):
        def run(event, context):
            with self.running(name):
                return handler(event, context)
        run.app = getattr(handler, "app", None)
        return run

    @contextlib.contextmanager
    def running(self, name):
        previous, self.current = self.current, name
        try:
            yield
        finally:
            self.current = previous

    def _record(self, where, params, model, **_):
        """``where``: "" in the cell's region, "@<region>" in another region of a zone."""
        if self.current is None:
            return
        service = model.service_model.endpoint_prefix
        found = self.calls.setdefault(self.current, {})
        for label, action in self._grants_needed(service, model.name, params):
            found.setdefault(label + where, set()).add(action)

    def _grants_needed(self, service, operation, params):
        if service == "sqs":
            queue = {self.world.queue_url: "appx-deferred-writes"}.get(params.get("QueueUrl"), params.get("QueueUrl"))
            return [(f"queue:{queue}", f"sqs:{operation}")]
        if operation == "TransactWriteItems":
            return [(f"table:{body['TableName']}", f"dynamodb:{TRANSACT[kind]}")
                    for item in params["TransactItems"] for kind, body in item.items()]
        if operation == "BatchWriteItem":
            return [(f"table:{table}", "dynamodb:BatchWriteItem") for table in params["RequestItems"]]
        if params.get("IndexName"):
            return [(f"index:{params['TableName']}/{params['IndexName']}", f"dynamodb:{operation}")]
        return [(f"table:{params['TableName']}", f"dynamodb:{operation}")]


# Grants the event source mapping uses with the function's role, not the handler: polling the
# worker's queue, sending exhausted stream batches to the on-failure queue (stream reads are
# labelled `stream:` and left out below).
# zone -> the zone's regions other than the world's (where the subject-key store's copies are)
ZONES = {zone: tuple(r for r in regions if r != REGION) for zone, regions in ZONE_REGIONS.items()}
MAPPING_GRANTS = {"worker": {"queue:appx-deferred-writes"}, "stream": {"queue:appx-stream-failures"}}


def data_grants(function: str) -> dict[str, set[str]]:
    """The role's DynamoDB and SQS grants the handler itself uses (KMS is behind the local key
    provider here)."""
    return {label: {a for a in actions if a.startswith(("dynamodb:", "sqs:"))}
            for label, actions in expected(function, ZONES).items()
            if label.startswith(("table:", "index:", "queue:")) and label not in MAPPING_GRANTS.get(function, ())}


def any_zone(grants: dict[str, set[str]]) -> dict[str, set[str]]:
    """Restricted tables get the same grants in every zone: merge them."""
    merged: dict[str, set[str]] = {}
    for label, actions in grants.items():
        key = "table:appx-restricted-*" if label.startswith("table:appx-restricted-") else label
        merged.setdefault(key, set()).update(actions)
    return merged


def scenario(world):
    assert world.request("GET", "/health").status == 200
    de = world.signup(email="d@example.org", country="DE").json
    eu = world.signup(email="e@example.org", country="FR").json
    for user in (de, eu):
        assert world.request("PATCH", "/v1/me", {"name": "New"}, token=user["token"], idem=f"patch-{user['userId'][-8:]}-k7Q2xW9mZp4R-0001").status == 200
        post = world.request("POST", "/v1/posts", {"text": "hello"}, token=user["token"]).json
        assert world.request("GET", f"/v1/posts/{post['postId']}").status == 200
        assert world.request("GET", "/v1/me/export", token=user["token"]).status == 200
    assert world.request("GET", "/v1/feed").status == 200
    world.pump_streams()
    world.api.app.breaker.force_open()  # the queue path: the worker applies what the API could not
    assert world.signup(email="g@example.org", country="FR").status == 202
    assert world.request("POST", "/v1/posts", {"text": "later"}, token=eu["token"]).status == 202
    assert world.request("PATCH", "/v1/me", {"name": "Later"}, token=eu["token"]).status == 202
    # Applied before the erasure is requested: an erasure shreds the subject key at once, and a
    # queued write of a shredded subject is dropped unopened.
    world.run_worker()
    assert world.request("DELETE", "/v1/me", token=eu["token"]).status == 202
    world.run_worker()
    world.api.app.breaker.success()
    # The scheduled sweeper runs a whole erasure job itself when its stream record is late or lost.
    late = world.signup(email="h@example.org", country="FR").json
    world.request("POST", "/v1/posts", {"text": "erase me"}, token=late["token"])
    world.pump_streams()
    assert world.request("DELETE", "/v1/me", token=late["token"]).status in (200, 204)
    world.clock.advance(3600)
    world.sweep()
    for user in (de, world.signup(email="f@example.org", country="FR").json):
        assert world.request("DELETE", "/v1/me", token=user["token"]).status in (200, 204)
    world.finish_erasures()


def test_every_call_of_every_handler_is_granted_and_every_grant_is_called(world):
    recorder = CallRecorder(world)
    scenario(world)
    # The stream and the worker's sweeper run the same erasure job: a step the scenario happened to
    # run in one of them is a grant the other needs too.
    job = {label: actions for label, actions in any_zone(erasure_job(ZONES)).items() if not label.endswith(("-key:de", "-key:eu"))}
    job_called = any_zone(merged(recorder.calls.get("worker", {}), recorder.calls.get("stream", {})))
    for function in ("api", "worker", "stream"):
        called, granted = recorder.calls.get(function, {}), data_grants(function)
        for label, actions in called.items():
            assert actions <= granted.get(label, set()), (function, label, actions - granted.get(label, set()))
        unused = {label: actions - any_zone(called).get(label, set()) for label, actions in any_zone(granted).items()}
        unused = {label: actions for label, actions in unused.items() if actions}
        if function != "api":
            unused = {label: actions - (job.get(label, set()) & job_called.get(label, set())) for label, actions in unused.items()}
        assert {label: actions for label, actions in unused.items() if actions} == {}, function
