"""Benchmark of the local stack on this machine (bounded: time and request count).

    .venv/bin/python -m tools.bench_local                 # starts a private stack
    .venv/bin/python -m tools.bench_local --attach        # uses the running one

Prints requests per second through edge and cell (after a warm-up: uncached reads, cached reads,
writes), and
the measured time from a region going down to the first successful `eu`-zone write and to the
first correct `de`-zone 503 (with Retry-After).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
import uuid
from pathlib import Path

from tools.local.client import LocalStack

DOWN = "eu-central-1"


def _run(make_request, seconds: float, max_requests: int, threads: int) -> tuple[list[float], dict[int, int], float]:
    """`threads` clients until `seconds` or `max_requests`: (sorted latencies, status counts, elapsed)."""
    lock = threading.Lock()
    latencies: list[float] = []
    codes: dict[int, int] = {}
    counter = [0]
    deadline = time.monotonic() + seconds

    def worker(tid: int):
        while time.monotonic() < deadline:
            with lock:
                if counter[0] >= max_requests:
                    return
                counter[0] += 1
                n = counter[0]
            t = time.perf_counter()
            status = make_request(n, tid)
            dt = time.perf_counter() - t
            with lock:
                latencies.append(dt)
                codes[status] = codes.get(status, 0) + 1

    started = time.monotonic()
    ts = [threading.Thread(target=worker, args=(k,)) for k in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return sorted(latencies), codes, time.monotonic() - started


def load(stack: LocalStack, name: str, make_request, seconds: float, max_requests: int, threads: int) -> dict:
    # Warm-up, not measured: the first concurrent requests start Lambda environments (cold starts).
    _run(make_request, min(seconds, 5.0), 2 * threads, threads)
    latencies, codes, elapsed = _run(make_request, seconds, max_requests, threads)
    p = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000 if latencies else 0.0
    out = {"name": name, "requests": len(latencies), "seconds": elapsed, "rps": len(latencies) / elapsed if elapsed else 0.0,
           "p50": p(0.5), "p95": p(0.95), "codes": codes}
    print(f"  {name:<38} {out['rps']:7.1f} req/s  ({out['requests']} requests in {elapsed:.1f}s, "
          f"p50 {out['p50']:.1f} ms, p95 {out['p95']:.1f} ms, status {dict(sorted(codes.items()))})", flush=True)
    return out


def failover(stack: LocalStack, eu_token: str, de_token: str, limit_s: float = 60.0) -> dict:
    stack.fault("down", DOWN)
    t0 = time.monotonic()
    eu_ok = de_503 = None
    bad = []
    while time.monotonic() - t0 < limit_s and (eu_ok is None or de_503 is None):
        if eu_ok is None:
            w = stack.request("POST", "/v1/posts", json_body={"text": "bench failover"}, token=eu_token, country="PL")
            if w.status in (201, 202):
                eu_ok = time.monotonic() - t0
            elif w.status >= 500 and not (w.status == 503 and "retry-after" in w.headers):
                bad.append(w.status)
        if de_503 is None:
            d = stack.request("GET", "/v1/me", token=de_token, country="DE")
            if d.status == 503 and "retry-after" in d.headers and d.headers.get("content-type", "").startswith("application/problem+json"):
                de_503 = time.monotonic() - t0
            elif d.status >= 500:
                bad.append(d.status)
        time.sleep(0.02)
    stack.fault("recover", DOWN)
    return {"eu": eu_ok, "de": de_503, "bad": bad}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m tools.bench_local", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--attach", action="store_true", help="use the running stack (.local-runtime/) instead of starting one")
    p.add_argument("--state-dir", type=Path, default=None)
    p.add_argument("--seconds", type=float, default=8.0, help="per load phase (bounded)")
    p.add_argument("--max-requests", type=int, default=5000, help="per load phase (bounded)")
    p.add_argument("--threads", type=int, default=8)
    args = p.parse_args(argv)
    stack = LocalStack.attach(args.state_dir) if args.attach else LocalStack.start()
    try:
        s = stack.status()["settings"]
        print(f"local stack: edge {stack.edge}; {len(stack.cells)} regions; detection window "
              f"{s['healthIntervalSeconds']}s × {s['healthThreshold']} + TTL {s['dnsTtlSeconds']}s = {s['detectionWindowSeconds']:.1f}s", flush=True)
        m = uuid.uuid4().hex[:6]
        eu = stack.request("POST", "/v1/users", json_body={"email": f"bench.{m}@example.pl", "name": "Bench PL"}, country="PL").json()
        de = stack.request("POST", "/v1/users", json_body={"email": f"bench.{m}@example.de", "name": "Bench DE"}, country="DE").json()
        post = stack.request("POST", "/v1/posts", json_body={"text": f"bench {m}"}, token=eu["token"], country="PL").json()
        stack.wait_idle()
        print("throughput (cell: API adapter → API Lambda → moto; edge: + cache, Lambda@Edge, Route 53):", flush=True)
        bounded = dict(seconds=args.seconds, max_requests=args.max_requests, threads=args.threads)
        cell = next(iter(stack.cells))
        load(stack, f"public GET, straight to {cell} (cell)", lambda n, t: stack.request("GET", f"/v1/posts/{post['postId']}", region=cell).status, **bounded)
        load(stack, "public GET, cache miss (edge+cell)", lambda n, t: stack.request("GET", f"/v1/posts/{post['postId']}?n={m}{n}", country="FR").status, **bounded)
        load(stack, "public GET, cache hit (edge only)", lambda n, t: stack.request("GET", f"/v1/posts/{post['postId']}", country="FR").status, **bounded)
        load(stack, "authenticated GET /v1/me (decrypt)", lambda n, t: stack.request("GET", "/v1/me", token=eu["token"], country="PL").status, **bounded)
        load(stack, "POST /v1/posts (write + replicate)", lambda n, t: stack.request("POST", "/v1/posts", json_body={"text": f"b{n}"}, token=eu["token"], country="PL").status, **bounded)
        stack.wait_idle(30)
        print(f"region failure ({DOWN} down):", flush=True)
        results = []
        for i in range(2):
            r = failover(stack, eu["token"], de["token"])
            results.append(r)
            eu_t = f"{r['eu']:.2f}s" if r["eu"] is not None else "never (limit reached)"
            de_t = f"{r['de']:.2f}s" if r["de"] is not None else "never (limit reached)"
            print(f"  run {i + 1}: first successful eu-zone write after {eu_t}; first de-zone 503 + Retry-After after {de_t}"
                  + (f"; unexpected 5xx: {r['bad']}" if r["bad"] else ""), flush=True)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and not all(x["health"]["healthy"] for x in stack.status()["regions"]):
                time.sleep(0.2)
            # Let cached Route 53 answers from the outage expire, so the next run starts clean.
            time.sleep(s["dnsTtlSeconds"] + s["healthIntervalSeconds"])
        eus = [r["eu"] for r in results if r["eu"] is not None]
        if eus:
            print(f"  median time to first eu write: {statistics.median(eus):.2f}s (window {s['detectionWindowSeconds']:.1f}s)")
        return 0 if all(r["eu"] is not None and r["de"] is not None and not r["bad"] for r in results) else 1
    finally:
        if not args.attach:
            stack.stop()


if __name__ == "__main__":
    sys.exit(main())
