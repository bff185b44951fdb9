"""The local multi-region runtime: moto, keys, cells, replication, Route 53, the edge.

    rt = Runtime(root).start()      # everything on 127.0.0.1, ephemeral ports by default
    rt.fault("down", "eu-central-1"); rt.fault("recover", "eu-central-1")
    rt.stop()
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from components.config import parse_origins
from components.erasure_windows import RETRY_SECONDS, SETTLE_SECONDS, SWEEP_MINUTES, erasure_windows
from tools.local import aws, functions, keys
from tools.local.cell import STREAM_RECORD_LIFETIME_S, Cell
from tools.local.edge import DASHBOARD, Edge
from tools.local.replication import Replicator
from tools.local.routing import HealthChecker, Route53
from tools.local.topology import (AWS_HEALTH_INTERVAL_S, AWS_RECORD_TTL_S, FEED_TABLE, IDEMPOTENCY_TABLE,
                                  POSTS_TABLE, Topology, load_topology, restricted_table, subject_keys_table)

REPO_ROOT = Path(__file__).resolve().parents[2]
STATE_FILE = "runtime.json"
LOCAL_EXPORT_PAGE_BYTES = 128 * 1024
FAULT_ACTIONS = ("down", "slow", "cut-replication", "storage-down", "breaker-open", "duplicate-delivery", "stream-failing", "worker-paused", "recover")


@dataclass
class Options:
    port: int = 0  # edge port (0: ephemeral)
    cell_ports: Mapping[str, int] = field(default_factory=dict)
    state_dir: Path | None = None  # where runtime.json and logs go (default .local-runtime/)
    # Local time scale: AWS health-check interval (10 s) and record TTL (60 s) times this.
    time_scale: float = 0.1
    health_interval_s: float | None = None
    dns_ttl_s: float | None = None
    health_threshold: int | None = None  # default: the global stack's healthCheckFailureThreshold
    health_timeout_s: float = 2.0  # Route 53 expects an answer within 2 s
    origin_connect_timeout_s: float = 1.0
    origin_read_timeout_s: float = 10.0
    default_country: str | None = None
    # Replaces every cell's appx:cell.corsOrigins (the example stack files list none); validated
    # like the stack files' list.
    cors_origins: tuple[str, ...] | None = None
    stream_poll_s: float = 0.1
    # The erasure sweeper's schedule and windows (components.erasure_windows), times time_scale
    # unless given.
    erasure_sweep_s: float | None = None
    erasure_settle_s: float | None = None
    echo_logs: bool = False
    # name -> factory(env) -> handler; default: functions/<name>/handler.py make_handler
    handler_factories: Mapping[str, Callable] | None = None


def _patient_store(name: str, env: Mapping[str, str]) -> dict:
    """moto still walks the whole table per Query (up to a second over tens of thousands of items
    on a loaded two-core machine, even with tools/local/aws.py's fast paths; DynamoDB takes
    milliseconds), so the local API waits up to 10 s for its data store instead of 2 s; its
    health checks keep their short timeouts (docs/local-runtime.md)."""
    if name != "api":
        return {}
    from botocore.config import Config

    def resource(read_timeout: float, attempts: int):
        config = Config(connect_timeout=1.0, read_timeout=read_timeout, retries={"mode": "standard", "total_max_attempts": attempts})
        return aws.boto3.session.Session().resource("dynamodb", region_name=env["APPX_REGION"], endpoint_url=env["AWS_ENDPOINT_URL"],
                                                    config=config, **aws.CREDENTIALS)

    return {"dynamodb": resource(10.0, 3), "health_dynamodb": resource(0.8, 1)}


def _in(region: str, name: str, fn):
    with functions.running(region, name):
        return fn()


class Runtime:
    def __init__(self, root: Path = REPO_ROOT, options: Options | None = None):
        self.root = Path(root)
        self.options = options or Options()
        self.topology: Topology = load_topology(self.root)
        o = self.options
        if o.cors_origins is not None:
            origins = parse_origins("--cors-origins", "appx:cell.corsOrigins", list(o.cors_origins))
            self.topology = dataclasses.replace(self.topology, cors_origins=origins)
        self.health_interval = o.health_interval_s if o.health_interval_s is not None else AWS_HEALTH_INTERVAL_S * o.time_scale
        self.dns_ttl = o.dns_ttl_s if o.dns_ttl_s is not None else AWS_RECORD_TTL_S * o.time_scale
        self.health_threshold = o.health_threshold or self.topology.health_check_failure_threshold
        self.stream_poll_s = o.stream_poll_s
        self.erasure_sweep_s = o.erasure_sweep_s if o.erasure_sweep_s is not None else SWEEP_MINUTES * 60 * o.time_scale
        self.erasure_settle_s = o.erasure_settle_s if o.erasure_settle_s is not None else SETTLE_SECONDS * o.time_scale
        self.state_dir = Path(o.state_dir) if o.state_dir else self.root / ".local-runtime"
        self.cells: dict[str, Cell] = {}
        self.events: list[dict] = []
        self._lock = threading.Lock()
        self._started = False

    # ------------------------------------------------------------------ lifecycle
    @property
    def detection_window_s(self) -> float:
        """Route 53: time to mark a region unhealthy plus the record TTL."""
        return self.health_interval * self.health_threshold + self.dns_ttl

    def start(self) -> "Runtime":
        o = self.options
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.log_dir = self.state_dir / "logs"
        if self.log_dir.exists():
            shutil.rmtree(self.log_dir)
        self.log_dir.mkdir(parents=True)
        self.key_dir = Path(tempfile.mkdtemp(prefix="appx-keys-"))
        logging.getLogger("werkzeug").setLevel(logging.ERROR)

        self._stdout, self._stderr = sys.stdout, sys.stderr
        self.capture = functions.LogCapture(self.log_dir, self._stdout, echo=o.echo_logs)
        sys.stdout = sys.stderr = self.capture

        self.moto = aws.MotoServer().start()
        # Every boto3 client of the functions talks to the local moto server.
        self._saved_env = {k: os.environ.get(k) for k in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION")}
        for k, v in {"AWS_ENDPOINT_URL": self.moto.url, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                     "AWS_DEFAULT_REGION": self.topology.cell_regions[0]}.items():
            os.environ[k] = v
        os.environ.pop("AWS_PROFILE", None)
        self.queues = aws.provision(self.topology, self.moto.url)
        self.zone_keys = keys.generate(self.topology, self.key_dir)
        self.edge_config = keys.edge_config(self.topology, self.zone_keys)
        (self.state_dir / "edge-config.json").write_text(json.dumps(self.edge_config, indent=2))

        factories = dict(o.handler_factories or {})
        for name in ("api", "worker", "stream"):
            if name not in factories and functions.handler_path(self.root, name).exists():
                factories[name] = (lambda n: lambda env: functions.make(self.root, n, env, **_patient_store(n, env)))(name)
        if "api" not in factories:
            raise RuntimeError("functions/api/handler.py not found and no stand-in api handler given")

        self.replicator = Replicator(self)
        for region in self.topology.cell_regions:
            env = self.region_env(region)
            handlers = {}
            for name in ("api", "worker", "stream"):
                if name in factories:
                    fenv = {**env, "POWERTOOLS_SERVICE_NAME": f"appx-{name}"}
                    make = (lambda f, e, r, n: lambda: _in(r, n, lambda: f(e)))(factories[name], fenv, region, name)
                    if name == "api":
                        limit = self.topology.reserved_concurrency.get(region, 100)
                        handlers[name] = functions.HandlerPool(make, limit, on_create=self._on_api_instance(region),
                                                               serialize=functions.API_INVOCATION_LOCK).warm()
                    else:  # one poller per region feeds them: one environment is enough
                        handlers[name] = make()
                    if name == "worker":  # scheduled invocations get their own environment
                        handlers["erasure-sweep"] = make()
            self.cells[region] = Cell(self, region, env, handlers, port=o.cell_ports.get(region, 0))
        self.health = HealthChecker(self, self.health_interval, self.health_threshold, o.health_timeout_s)
        self.route53 = Route53(self, self.dns_ttl)

        edge_handler = None
        if "edge" in factories:
            edge_handler = factories["edge"](self.edge_config)
        elif functions.handler_path(self.root, "edge").exists():
            edge_handler = self._load_edge()
        self.edge = Edge(self, edge_handler, port=o.port, default_country=o.default_country,
                         connect_timeout_s=o.origin_connect_timeout_s, read_timeout_s=o.origin_read_timeout_s)

        for cell in self.cells.values():
            cell.start()
        self.replicator.start()
        self.health.start()
        self.edge.start()
        self._started = True
        self._write_state()
        self.event("runtime started", regions=list(self.cells))
        return self

    def _load_edge(self):
        """The edge function with the local config.json (public keys of this run)."""
        with functions.running("edge", "edge"):
            return functions.make(self.root, "edge", {}, config=self.edge_config)

    def region_env(self, region: str) -> dict[str, str]:
        zones = {z.name: {"table": restricted_table(z.name), "keysTable": subject_keys_table(z.name),
                          "keyStoreRegions": list(z.regions),
                          "keyArn": keys.key_arn(region, self.zone_keys[z.name]["keyId"]),
                          "wrapKeyArn": keys.key_arn(region, f"wrap-{z.name}")}
                 for z in self.topology.zones_in(region)}
        return {
            "APPX_REGION": region,
            "AWS_REGION": region,
            "AWS_DEFAULT_REGION": region,
            "APPX_ZONES": json.dumps(zones),
            "APPX_POSTS_TABLE": POSTS_TABLE,
            "APPX_FEED_TABLE": FEED_TABLE,
            "APPX_IDEMPOTENCY_TABLE": IDEMPOTENCY_TABLE,
            "APPX_QUEUE_URL": self.queues[region]["queueUrl"],
            "APPX_KEY_PROVIDER": f"local:{self.key_dir / region}",
            # Small export pages (two Queries at most, even with moto's whole-table walk per Query)
            # keep every page well within the edge's 10 s origin timeout on a loaded machine, and
            # a 20,000-post export crosses many cursors (docs/local-runtime.md).
            "APPX_EXPORT_PAGE_BYTES": str(LOCAL_EXPORT_PAGE_BYTES),
            "APPX_TOMBSTONE_SECONDS": str(erasure_windows(self.topology.project).tombstone_seconds),
            # Whole seconds (the functions' contract); at least one.
            "APPX_ERASURE_SETTLE_SECONDS": str(max(1, round(self.erasure_settle_s))),
            "APPX_ERASURE_RETRY_SECONDS": str(max(1, round(RETRY_SECONDS * self.erasure_settle_s / SETTLE_SECONDS))),
            "AWS_ENDPOINT_URL": self.moto.url,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            # As components/regional_cell.py: only when the cells list origins.
            **({"APPX_CORS_ORIGINS": ",".join(self.topology.cors_origins)} if self.topology.cors_origins else {}),
        }

    def stop(self) -> None:
        if not self._started:
            return
        self._started = False
        for part in (self.edge, self.health, self.replicator, *self.cells.values()):
            try:
                part.stop()
            except Exception:
                pass
        self.moto.stop()
        for k, v in self._saved_env.items():  # in-process use (tests) leaves the environment as it was
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        sys.stdout, sys.stderr = self._stdout, self._stderr
        self.capture.close_all()
        shutil.rmtree(self.key_dir, ignore_errors=True)
        try:
            (self.state_dir / STATE_FILE).unlink()
        except FileNotFoundError:
            pass

    def _write_state(self) -> None:
        state = {
            "pid": os.getpid(),
            "edge": self.edge.url,
            "dashboard": f"{self.edge.url}/_control/",
            "moto": self.moto.url,
            "cells": {r: c.url for r, c in self.cells.items()},
            "logs": str(self.log_dir),
            "keys": str(self.key_dir),
            "healthIntervalSeconds": self.health_interval,
            "healthThreshold": self.health_threshold,
            "dnsTtlSeconds": self.dns_ttl,
            "detectionWindowSeconds": self.detection_window_s,
        }
        (self.state_dir / STATE_FILE).write_text(json.dumps(state, indent=2))

    # ------------------------------------------------------------------ faults
    def event(self, text: str, **data) -> None:
        with self._lock:
            self.events.append({"at": time.time(), "text": text, **data})
            del self.events[:-100]

    def fault(self, action: str, region: str | None = None, ms: int = 0) -> dict:
        if action not in FAULT_ACTIONS:
            raise ValueError(f"unknown fault {action!r} (allowed: {', '.join(FAULT_ACTIONS)})")
        if region is not None and region not in self.cells:
            raise ValueError(f"unknown region {region!r} (allowed: {', '.join(self.cells)})")
        targets = [region] if region else list(self.cells)
        now = time.time()
        for r in targets:
            f = self.cells[r].faults
            if action == "down":
                f.down = True
                self.moto.faults.set(r, True)
            elif action == "slow":
                f.slow_ms = int(ms or 1500)
            elif action == "cut-replication":
                if region is None:
                    self.replicator.cut_all = True
                else:
                    f.replication_cut = True
            elif action == "storage-down":
                f.storage_down = True
                self.moto.faults.set(r, True, ("dynamodb",))  # the queue fallback stays up
            elif action == "breaker-open":
                breakers = self._breakers(r)
                if not breakers or not all(hasattr(b, "force_open") for b in breakers):
                    raise ValueError("the api handler exposes no circuit breaker (handler.app.breaker)")
                f.breaker_forced = True
                for b in breakers:
                    b.force_open()
            elif action == "duplicate-delivery":
                f.duplicate_delivery = True
            elif action == "stream-failing":
                f.stream_failing = True
            elif action == "worker-paused":
                f.worker_paused = True
            elif action == "recover":
                if f.breaker_forced:
                    for b in self._breakers(r):
                        b.success()
                f.down = f.replication_cut = f.storage_down = f.breaker_forced = f.duplicate_delivery = f.stream_failing = f.worker_paused = False
                f.slow_ms = 0
                self.moto.faults.set(r, False)
                if region is None:
                    self.replicator.cut_all = False
            f.since = now if action != "recover" else None
        self.event(f"fault {action}", region=region or "all", ms=ms)
        return {"ok": True, "action": action, "region": region or "all", "at": now}

    def _breakers(self, region: str) -> list:
        pool = self.cells[region].handlers.get("api")
        apps = pool.apps() if isinstance(pool, functions.HandlerPool) else [getattr(pool, "app", None)]
        return [a.breaker for a in apps if a is not None and getattr(a, "breaker", None) is not None]

    def _breaker_state(self, region: str) -> str | None:
        states = {b.state for b in self._breakers(region)}
        for s in ("open", "half-open", "closed"):
            if s in states:
                return s
        return None

    def _on_api_instance(self, region: str):
        def hook(handler) -> None:
            # A new environment while the breaker fault is on starts with its breaker open too.
            cell = self.cells.get(region)
            breaker = getattr(getattr(handler, "app", None), "breaker", None)
            if cell is not None and cell.faults.breaker_forced and breaker is not None:
                breaker.force_open()
        return hook

    # ------------------------------------------------------------------ state & control API
    def state(self) -> dict:
        health = self.health.state()
        regions = []
        for r, cell in self.cells.items():
            regions.append({
                "region": r, "url": cell.url, "zones": [z.name for z in self.topology.zones_in(r)],
                "health": health[r], "faults": cell.faults.as_dict(), "stats": dict(cell.stats),
                "breaker": self._breaker_state(r),
                "apiEnvironments": len(getattr(cell.handlers.get("api"), "instances", [])),
                "streamBacklog": cell.stream_backlog(), "streamFailures": len(cell.stream_failures),
            })
        zones = []
        for z in self.topology.zones.values():
            host = z.origin_host(self.topology.domain)
            # Served right now = some cell of the zone can answer (not taken down, storage up); Route 53's
            # answer can still name a dead cell (detection window, or fail-open when none is healthy).
            serving = [r for r in z.regions if not (self.cells[r].faults.down or self.cells[r].faults.storage_down)]
            zones.append({"zone": z.name, "regions": list(z.regions), "originHost": host,
                          "countries": sorted(c for c, n in self.topology.project.residency.countries.items() if n == z.name),
                          "answer": self.route53.resolve(host, None)[:1],
                          "servedBy": serving, "status": "served" if serving else "unavailable"})
        return {
            "storage": {"moto": self.moto.url},
            "regions": regions,
            "zones": zones,
            "replication": self.replicator.lag(),
            "replicationCutAll": self.replicator.cut_all,
            "recent": list(self.edge.recent)[-50:][::-1],
            "edge": {**self.edge.counters, "cacheEntries": len(self.edge.cache)},
            "settings": {"healthIntervalSeconds": self.health_interval, "healthThreshold": self.health_threshold,
                         "dnsTtlSeconds": self.dns_ttl, "detectionWindowSeconds": self.detection_window_s},
            "healthTransitions": self.health.transitions[-20:],
            "events": self.events[-20:][::-1],
            "now": time.time(),
        }

    def control(self, method: str, path: str, query: str, body: bytes):
        js = [("Content-Type", "application/json"), ("Cache-Control", "no-store")]
        try:
            if method == "GET" and path in ("/_control", "/_control/", "/_control/dashboard"):
                return 200, [("Content-Type", "text/html; charset=utf-8"), ("Cache-Control", "no-store")], DASHBOARD.read_bytes()
            if method == "GET" and path == "/_control/state":
                return 200, js, json.dumps(self.state(), default=str).encode()
            if method == "POST" and path == "/_control/faults":
                req = json.loads(body or b"{}")
                out = self.fault(req.get("action", ""), req.get("region"), int(req.get("ms") or 0))
                return 200, js, json.dumps(out).encode()
            if method == "POST" and path == "/_control/import":
                # Test data set-up at scale: every replica region of the table, like an import.
                req = json.loads(body or b"{}")
                table, items = req["table"], req["items"]
                regions = [r for r in self.topology.cell_regions if table in {t.name for t in self.topology.tables_in(r)}]
                if not regions or not isinstance(items, list):
                    raise ValueError(f"unknown table {table!r} or items not a list")
                count = sum(aws.import_items(region, table, items) for region in regions)
                return 200, js, json.dumps({"imported": count, "regions": regions}).encode()
            if method == "POST" and path == "/_control/cache/invalidate":
                self.edge.cache.clear()
                self.event("cache invalidated")
                return 200, js, b'{"ok":true}'
        except (ValueError, TypeError, KeyError) as exc:
            return 400, js, json.dumps({"error": str(exc)}).encode()
        return 404, js, b'{"error":"not found"}'

    # ------------------------------------------------------------------ helpers for tests/tools
    def wait_idle(self, timeout_s: float = 10.0) -> bool:
        """Wait until replication and stream delivery have caught up (bounded)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            busy = self.replicator.pending_total() + sum(c.stream_backlog() for c in self.cells.values() if c.data_plane_up)
            if busy == 0:
                return True
            time.sleep(0.05)
        return False

    def redrive_stream_failures(self, region: str, max_messages: int = 100) -> dict:
        """`python -m tools.redrive stream` against this runtime's region: the same command logic
        (functions/appx_common/stream_redrive.py), reading the stream from moto's backend (records
        older than 24 hours count as trimmed, as in AWS) and invoking the region's stream function."""
        functions.load_module(self.root, "stream")  # puts functions/ on sys.path, as the bundle does
        from appx_common.config import RegionConfig
        from appx_common.store import Store
        from appx_common.stream_redrive import Expired, feed_rederiver, redrive_stream_failures

        cell = self.cells[region]

        def read_batch(batch) -> list:
            oldest = time.time() - STREAM_RECORD_LIFETIME_S
            records = [aws.stream_record_event(r, region, batch.table) for r in aws.stream_items(region, batch.table)]
            held = [r for r in records if batch.holds(r["dynamodb"]["SequenceNumber"])]
            if not held or any(r["dynamodb"].get("ApproximateCreationDateTime", oldest) < oldest for r in held):
                raise Expired(batch.as_dict())
            return held

        def invoke(records: list) -> list:
            with functions.running(region, "stream"):
                result = cell.handlers["stream"]({"Records": records}, functions.LambdaContext("appx-stream", region))
            return [f["itemIdentifier"] for f in (result or {}).get("batchItemFailures", [])]

        env = self.region_env(region)
        store = Store(RegionConfig.from_env(env, "appx-redrive"), aws.resource("dynamodb", region, self.moto.url))
        sqs = aws.client("sqs", region, self.moto.url)
        with functions.running(region, "redrive"):
            return redrive_stream_failures(sqs, self.queues[region]["streamFailureQueueUrl"], read_batch, invoke,
                                           feed_rederiver(store), max_messages)


def read_state(state_dir: Path | None = None) -> dict:
    path = (Path(state_dir) if state_dir else REPO_ROOT / ".local-runtime") / STATE_FILE
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise SystemExit(f"no running local stack found ({path} missing): start it with `bash scripts/run-local.sh`") from None
