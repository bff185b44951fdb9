"""After sign-up, read, rectify (direct and queued), post, export and erase, the captured logs
hold no plaintext value."""

from __future__ import annotations

import logging

PLAIN = {"email": "zoe.secret@example.org", "name": "Zoe Hidden-Name", "phone": "+33 6 99 88 77 66", "birthDate": "1977-07-07"}


def test_logs_contain_no_plaintext(world, capsys, caplog):
    # Our loggers at DEBUG (botocore's wire logs are off in Lambda and not ours to judge).
    for name in ("appx-api", "appx-worker", "appx-stream"):
        caplog.set_level(logging.DEBUG, logger=name)
    r = world.signup(email=PLAIN["email"], name=PLAIN["name"], phone=PLAIN["phone"], birth=PLAIN["birthDate"], idem="signup-log-0001-k7Q2xW9mZp4R")
    assert r.status == 201
    token = r.json["token"]
    assert world.request("GET", "/v1/me", token=token).json["profile"] == PLAIN
    assert world.request("PATCH", "/v1/me", {"phone": "+33 1 23 45 67 89"}, token=token).status == 200
    assert world.request("POST", "/v1/posts", {"text": "log me not"}, token=token).status == 201
    assert world.request("GET", "/v1/me/export", token=token).status == 200
    # the queued path too: the API's fallback, the worker applying it, a rejected request
    world.api.app.breaker.force_open()
    assert world.request("PATCH", "/v1/me", {"name": "Zoe Queued-Name"}, token=token).status == 202
    world.run_worker()
    world.api.app.breaker.success()
    assert world.request("PATCH", "/v1/me", {"email": "zoe.secret@example.org", "admin": True}, token=token).status == 422
    assert world.request("DELETE", "/v1/me", token=token).status == 204
    world.pump_streams()
    captured = capsys.readouterr()
    logs = captured.out + captured.err + caplog.text
    assert all(m in logs for m in ("user erased", "data exported", "write queued", "queued write applied"))  # we did capture the logs
    for needle in [*PLAIN.values(), "+33 1 23 45 67 89", "Zoe Queued-Name", token, token.split(".")[-1], r.json["userId"]]:
        assert needle not in logs, needle
