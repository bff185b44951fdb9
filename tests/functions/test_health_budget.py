"""The deep /health answers within Route 53's budget (a 2xx/3xx within 2 s of the connection),
cold start included: the configured chain fits, and the time a cold start already spent comes
off the checks' deadline. Speed itself is measured by `python -m tools.bench_health`."""

from __future__ import annotations

from tests.functions.conftest import make_env


def test_deadline_and_margin_fit_route53s_two_seconds(modules):
    api = modules["api"]
    assert api.ROUTE53_RESPONSE_BUDGET_SECONDS == 2.0
    assert api.HEALTH_DEADLINE_SECONDS + api.HEALTH_RESPONSE_MARGIN_SECONDS < api.ROUTE53_RESPONSE_BUDGET_SECONDS
    assert 0 < api.HEALTH_MIN_DEADLINE_SECONDS < api.HEALTH_DEADLINE_SECONDS


def test_health_clients_timeouts_chain_fits_the_deadline(modules):
    from appx_common import aws

    fast = aws.FAST
    assert fast.retries["total_max_attempts"] == 1  # no retry inside the deadline
    assert fast.connect_timeout + fast.read_timeout <= modules["api"].HEALTH_DEADLINE_SECONDS


def test_the_lambda_entry_point_counts_the_cold_start(modules):
    # Importing the module is free of side effects; Lambda's first call builds the app with the
    # process start, so the import and the build come off the first /health's deadline.
    api = modules["api"]
    app = api.make_handler(make_env_for_kms(), cold_started=api._PROCESS_STARTED).app
    assert app._request_started == api._PROCESS_STARTED


def make_env_for_kms():
    import json

    return {"APPX_REGION": "eu-central-1", "APPX_ZONES": json.dumps({}), "APPX_POSTS_TABLE": "p", "APPX_FEED_TABLE": "f",
            "APPX_IDEMPOTENCY_TABLE": "i", "APPX_QUEUE_URL": "", "APPX_KEY_PROVIDER": "kms"}


def test_cold_start_time_comes_off_the_first_deadline_only(modules, keys, monkeypatch):
    api = modules["api"]
    now = [1000.0]
    monkeypatch.setattr(api.time, "monotonic", lambda: now[0])
    app = api.make_handler(make_env(keys), cold_started=now[0] - 1.2).app  # import + build took 1.2 s
    budget = api.ROUTE53_RESPONSE_BUDGET_SECONDS - api.HEALTH_RESPONSE_MARGIN_SECONDS
    assert abs(app.health_deadline() - min(api.HEALTH_DEADLINE_SECONDS, budget - 1.2)) < 1e-9
    app._request_started = now[0] - 5  # a cold start that overran: still a bounded, non-zero wait
    assert app.health_deadline() == api.HEALTH_MIN_DEADLINE_SECONDS
    app._request_started = None  # as after the first request: warm requests get the full deadline
    assert app.health_deadline() == api.HEALTH_DEADLINE_SECONDS


def test_a_warm_request_starts_its_own_clock(world):
    app = world.api.app
    assert app._request_started is None
    seen = []
    real = app.health_deadline

    def spy():
        seen.append(app._request_started)
        return real()
    app.health_deadline = spy
    app.health_cache.put("h", None)
    world.clock.advance(5)
    r = world.request("GET", "/health", via_edge=False)
    assert r.status == 200 and seen and seen[0] is not None
    assert app._request_started is None
