"""Benchmark (not a test): how long the API's deep /health takes cold and warm, against
Route 53's budget (a 2xx/3xx within 2 s of the TCP connection).

    .venv/bin/python -m tools.bench_health [--runs 5]

Cold = a fresh Python process: importing the handler module, then Lambda's first invocation
(building the app: boto3 clients, key provider) answering /health, as the real entry point does
(`handler`, so the cold start's own time comes off the checks' deadline). Warm = later /health
calls with the 2 s result cache expired, and cached. AWS is moto in-process, so network time is
not in these figures: the margin (HEALTH_RESPONSE_MARGIN_SECONDS) stands for it.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

_CHILD = r"""
import json, os, sys, time
sys.path[:0] = [os.path.join(ROOT, "functions"), ROOT]
from moto import mock_aws
import boto3
from tests.functions.conftest import create_tables

REGION = "eu-central-1"
with mock_aws():
    kms = boto3.client("kms", region_name=REGION)
    zones = {}
    for zone in ("eu", "de"):
        key = kms.create_key(KeySpec="RSA_2048", KeyUsage="ENCRYPT_DECRYPT", MultiRegion=True)["KeyMetadata"]
        zones[zone] = {"table": f"appx-restricted-{zone}", "keyArn": key["Arn"]}
    create_tables(boto3.client("dynamodb", region_name=REGION))
    os.environ.update({"APPX_REGION": REGION, "APPX_ZONES": json.dumps(zones), "APPX_POSTS_TABLE": "appx-posts",
                       "APPX_FEED_TABLE": "appx-feed", "APPX_IDEMPOTENCY_TABLE": "appx-idempotency",
                       "APPX_QUEUE_URL": "", "APPX_KEY_PROVIDER": "kms", "POWERTOOLS_SERVICE_NAME": "appx-api"})
    event = {"version": "2.0", "routeKey": "GET /health", "rawPath": "/health", "rawQueryString": "", "headers": {},
             "requestContext": {"http": {"method": "GET", "path": "/health", "sourceIp": "127.0.0.1"}, "stage": "$default"},
             "isBase64Encoded": False}
    started = time.perf_counter()
    import importlib.util
    spec = importlib.util.spec_from_file_location("api_handler", os.path.join(ROOT, "functions", "api", "handler.py"))
    module = importlib.util.module_from_spec(spec); spec.loader.exec_module(module)
    imported = time.perf_counter()
    first = module.handler(event, None)
    cold = time.perf_counter()
    app = module.make_handler(os.environ).app
    app(event, None)  # this instance's own first call
    warm = []
    for _ in range(20):
        app.health_cache.put("h", None)
        t = time.perf_counter(); r = app(event, None); warm.append(time.perf_counter() - t)
    t = time.perf_counter(); app(event, None); cached = time.perf_counter() - t
    print(json.dumps({"status": first["statusCode"], "import": imported - started, "cold": cold - started,
                      "warm": sorted(warm)[len(warm) // 2], "cached": cached, "deadline": module.HEALTH_DEADLINE_SECONDS,
                      "margin": module.HEALTH_RESPONSE_MARGIN_SECONDS, "budget": module.ROUTE53_RESPONSE_BUDGET_SECONDS}))
"""


def one_cold_run() -> dict:
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "eu-central-1"}
    env.pop("AWS_ENDPOINT_URL", None)
    done = subprocess.run([sys.executable, "-c", f"ROOT = {str(ROOT)!r}\n" + _CHILD], cwd=ROOT, env=env,
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="fresh processes (cold starts) to measure")
    args = parser.parse_args(argv)
    runs = [one_cold_run() for _ in range(args.runs)]
    ms = lambda key: statistics.median(r[key] for r in runs) * 1000  # noqa: E731
    first = runs[0]
    print(f"/health over {args.runs} cold starts (moto, no network; Route 53 budget {first['budget']:.1f} s, "
          f"checks' deadline {first['deadline']:.1f} s, margin {first['margin']:.1f} s)")
    print(f"  status of the first (cold) call: {sorted({r['status'] for r in runs})}")
    print(f"  cold: import {ms('import'):.0f} ms, import + first /health {ms('cold'):.0f} ms (median; max "
          f"{max(r['cold'] for r in runs) * 1000:.0f} ms)")
    print(f"  warm: /health {ms('warm'):.1f} ms uncached, {ms('cached'):.2f} ms cached (medians)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
