"""After sign-up, read, rectify, export and erase, the captured logs hold no plaintext value."""

from __future__ import annotations

import logging

PLAIN = {"email": "zoe.secret@example.org", "name": "Zoe Hidden-Name", "phone": "+33 6 99 88 77 66", "birthDate": "1977-07-07"}


def test_logs_contain_no_plaintext(world, capsys, caplog):
    # Our loggers at DEBUG (botocore's wire logs are off in Lambda and not ours to judge).
    for name in ("appx-api", "appx-worker", "appx-stream"):
        caplog.set_level(logging.DEBUG, logger=name)
    r = world.signup(email=PLAIN["email"], name=PLAIN["name"], phone=PLAIN["phone"], birth=PLAIN["birthDate"], idem="signup-log-0001")
    assert r.status == 201
    token = r.json["token"]
    assert world.request("GET", "/v1/me", token=token).json["profile"] == PLAIN
    assert world.request("PATCH", "/v1/me", {"phone": "+33 1 23 45 67 89"}, token=token).status == 200
    assert world.request("POST", "/v1/posts", {"text": "log me not"}, token=token).status == 201
    assert world.request("GET", "/v1/me/export", token=token).status == 200
    assert world.request("DELETE", "/v1/me", token=token).status == 204
    world.pump_streams()
    captured = capsys.readouterr()
    logs = captured.out + captured.err + caplog.text
    assert "user erased" in logs and "data exported" in logs  # we did capture the logs
    for needle in [*PLAIN.values(), "+33 1 23 45 67 89", token, token.split(".")[-1], r.json["userId"]]:
        assert needle not in logs, needle
