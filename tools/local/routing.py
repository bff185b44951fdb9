"""Route 53 emulation: health checks on each cell's deep /health, and latency records.

Health checks poll every `interval` seconds (10 s in AWS, scaled down locally); a region turns
unhealthy after `threshold` consecutive failures and healthy again after `threshold`
consecutive successes (the global stack's `healthCheckFailureThreshold`). A latency record set
answers with the lowest-latency healthy region for the viewer; when every record of the set is
unhealthy Route 53 fails open and answers as if all were healthy. Answers are cached per
resolver (viewer country) for the record TTL.
"""

from __future__ import annotations

import threading
import time

import urllib3


class HealthChecker:
    def __init__(self, runtime, interval_s: float, threshold: int, timeout_s: float):
        self.runtime, self.interval, self.threshold, self.timeout = runtime, interval_s, threshold, timeout_s
        self.healthy: dict[str, bool] = {r: True for r in runtime.topology.cell_regions}
        self._ok_run: dict[str, int] = {r: 0 for r in self.healthy}
        self._fail_run: dict[str, int] = {r: 0 for r in self.healthy}
        self.last: dict[str, dict] = {}
        self.transitions: list[dict] = []
        self._stop = threading.Event()
        self._pool = urllib3.PoolManager(num_pools=8, maxsize=4, retries=False)
        self._thread = threading.Thread(target=self._loop, name="health", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _check(self, region: str) -> tuple[bool, str]:
        cell = self.runtime.cells[region]
        try:
            r = self._pool.request("GET", f"{cell.url}/health", headers={"Host": f"health.{region}.local", "User-Agent": "Amazon-Route53-Health-Check-Service"},
                                   timeout=urllib3.Timeout(connect=self.timeout, read=self.timeout), preload_content=True)
            return 200 <= r.status < 400, f"HTTP {r.status}"
        except Exception as exc:  # connection refused/reset, timeout
            return False, exc.__class__.__name__

    def check_all(self) -> None:
        threads = []
        for region in list(self.healthy):
            t = threading.Thread(target=self._check_one, args=(region,), daemon=True)
            t.start()
            threads.append(t)
        for t in threads:
            t.join(self.timeout * 2 + 1)

    def _check_one(self, region: str) -> None:
        ok, detail = self._check(region)
        now = time.time()
        self.last[region] = {"ok": ok, "detail": detail, "at": now}
        if ok:
            self._ok_run[region] += 1
            self._fail_run[region] = 0
            if not self.healthy[region] and self._ok_run[region] >= self.threshold:
                self.healthy[region] = True
                self.transitions.append({"region": region, "healthy": True, "at": now})
        else:
            self._fail_run[region] += 1
            self._ok_run[region] = 0
            if self.healthy[region] and self._fail_run[region] >= self.threshold:
                self.healthy[region] = False
                self.transitions.append({"region": region, "healthy": False, "at": now})

    def _loop(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            self.check_all()
            self._stop.wait(max(0.0, self.interval - (time.monotonic() - started)))

    def state(self) -> dict:
        return {r: {"healthy": h, "consecutiveFailures": self._fail_run[r], "consecutiveSuccesses": self._ok_run[r],
                    "last": self.last.get(r)} for r, h in self.healthy.items()}


class Route53:
    def __init__(self, runtime, ttl_s: float):
        self.runtime, self.ttl = runtime, ttl_s
        self._cache: dict[tuple[str, str], tuple[float, list[str]]] = {}
        self._lock = threading.Lock()

    def resolve(self, host: str, country: str | None) -> list[str]:
        """Regions in the order the resolver would try them: [answer, then fallbacks by latency].

        The first element is Route 53's answer (cached for the TTL); the rest is what a second
        lookup excluding it would give, used by the origin group's secondary origin."""
        key = (host, (country or "").upper())
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(key)
            if hit and hit[0] > now:
                return hit[1]
        records = self.runtime.topology.origin_hosts.get(host)
        if not records:
            return []
        order = self.runtime.topology.latency_order(country, records)
        healthy = [r for r in order if self.runtime.health.healthy.get(r, True)]
        answer = healthy or order  # fail open when every record is unhealthy
        with self._lock:
            self._cache[key] = (now + self.ttl, answer)
        return answer

    def flush(self) -> None:
        with self._lock:
            self._cache.clear()
