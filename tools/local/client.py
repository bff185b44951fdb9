"""A client for a running local stack (or one it starts as a child process): requests through
the edge or straight to a cell, faults, state, and read-only views of every region's stores.
Used by the e2e tests, the demo and the benchmark."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import urllib3

from tools.local.runtime import REPO_ROOT, STATE_FILE


@dataclass
class Response:
    status: int
    headers: dict
    body: bytes
    region: str | None = None
    cache: str | None = None

    def json(self):
        return json.loads(self.body) if self.body else None

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


@dataclass
class LocalStack:
    state: dict
    state_dir: Path
    process: subprocess.Popen | None = None
    _pool: urllib3.PoolManager = field(default_factory=lambda: urllib3.PoolManager(num_pools=8, maxsize=16, retries=False))

    # ------------------------------------------------------------------ lifecycle
    @classmethod
    def attach(cls, state_dir: Path | None = None) -> "LocalStack":
        d = Path(state_dir) if state_dir else REPO_ROOT / ".local-runtime"
        try:
            state = json.loads((d / STATE_FILE).read_text())
        except FileNotFoundError:
            raise SystemExit(f"no running local stack ({d / STATE_FILE} missing): start it with `bash scripts/run-local.sh`") from None
        return cls(state, d)

    @classmethod
    def start(cls, *args: str, state_dir: Path | None = None, timeout_s: float = 90.0) -> "LocalStack":
        """Start `python -m tools.local up --port 0 ...` as a child process and wait for it."""
        d = Path(state_dir) if state_dir else Path(tempfile.mkdtemp(prefix="appx-local-"))
        (d / STATE_FILE).unlink(missing_ok=True)
        out = open(d / "console.log", "wb")
        proc = subprocess.Popen([sys.executable, "-m", "tools.local", "up", "--port", "0", "--state-dir", str(d), *args],
                                cwd=REPO_ROOT, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"local stack exited with {proc.returncode}: {(d / 'console.log').read_text()[-2000:]}")
            if (d / STATE_FILE).exists():
                try:
                    state = json.loads((d / STATE_FILE).read_text())
                    return cls(state, d, proc)
                except ValueError:
                    pass
            time.sleep(0.2)
        proc.kill()
        raise RuntimeError("local stack did not start in time")

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)
        self.process = None

    # ------------------------------------------------------------------ HTTP
    @property
    def edge(self) -> str:
        return self.state["edge"]

    @property
    def cells(self) -> dict[str, str]:
        return self.state["cells"]

    def request(self, method: str, path: str, *, json_body=None, country: str | None = "IE", token: str | None = None,
                headers: dict | None = None, region: str | None = None, timeout: float = 10.0, body: bytes | None = None) -> Response:
        """Through the edge (default) or straight to one region's API (`region=`)."""
        h = dict(headers or {})
        if country:
            h["CloudFront-Viewer-Country"] = country
        if token:
            h["Authorization"] = f"Bearer {token}"
        if json_body is not None:
            body = json.dumps(json_body).encode()
            h.setdefault("Content-Type", "application/json")
        base = self.cells[region] if region else self.edge
        r = self._pool.request(method, base + path, body=body, headers=h, timeout=urllib3.Timeout(connect=5, read=timeout),
                               redirect=False)
        hdrs = {k.lower(): v for k, v in r.headers.items()}
        return Response(r.status, hdrs, r.data, hdrs.get("x-appx-origin-region") or hdrs.get("x-appx-region"),
                        (hdrs.get("x-cache") or "").split(" ")[0] or None)

    def control(self, method: str, path: str, doc: dict | None = None) -> dict:
        r = self._pool.request(method, f"{self.edge}/_control/{path}", body=json.dumps(doc).encode() if doc is not None else None,
                               headers={"Content-Type": "application/json"}, timeout=10)
        out = json.loads(r.data)
        if r.status != 200:
            raise RuntimeError(out.get("error", r.status))
        return out

    def fault(self, action: str, region: str | None = None, ms: int = 0) -> dict:
        return self.control("POST", "faults", {"action": action, "region": region, "ms": ms})

    def import_items(self, table: str, items: list[dict], chunk: int = 2000) -> int:
        """Bulk-load items (DynamoDB JSON) into every replica of a table, without stream records."""
        return sum(self.control("POST", "import", {"table": table, "items": items[i:i + chunk]})["imported"]
                   for i in range(0, len(items), chunk))

    def status(self) -> dict:
        return self.control("GET", "state")

    def wait_idle(self, timeout_s: float = 15.0) -> bool:
        """Until replication and stream delivery have caught up (bounded in time)."""
        deadline = time.monotonic() + timeout_s
        quiet = 0
        while time.monotonic() < deadline:
            s = self.status()
            busy = sum(l["pending"] for l in s["replication"]) + sum(r["streamBacklog"] for r in s["regions"] if not r["faults"]["down"])
            quiet = quiet + 1 if busy == 0 else 0
            if quiet >= 3:  # stable across three polls (stream records produce more records)
                return True
            time.sleep(0.15)
        self.last_busy = {"replication": [l for l in s["replication"] if l["pending"]],
                          "streams": {r["region"]: r["streamBacklog"] for r in s["regions"]}}
        return False

    # ------------------------------------------------------------------ stores (read-only)
    def _ddb(self, region: str):
        import boto3

        return boto3.client("dynamodb", region_name=region, endpoint_url=self.state["moto"],
                            aws_access_key_id="testing", aws_secret_access_key="testing")

    def tables(self, region: str) -> list[str]:
        return self._ddb(region).list_tables()["TableNames"]

    def scan(self, region: str, table: str) -> list[dict]:
        ddb, items, kwargs = self._ddb(region), [], {"TableName": table}
        while True:
            page = ddb.scan(**kwargs)
            items += page.get("Items", [])
            if "LastEvaluatedKey" not in page:
                from tools.local.aws import lambda_event_value

                return lambda_event_value(items)  # JSON-safe: binary values as base64 text
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def dump_region(self, region: str) -> dict[str, list[dict]]:
        return {t: self.scan(region, t) for t in self.tables(region)}

    def queue_messages(self, region: str) -> list[str]:
        """Bodies currently visible in the region's queues (peek: visibility 0)."""
        import boto3

        sqs = boto3.client("sqs", region_name=region, endpoint_url=self.state["moto"], aws_access_key_id="testing",
                           aws_secret_access_key="testing")
        bodies = []
        for url in sqs.list_queues().get("QueueUrls", []):
            msgs = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0).get("Messages", [])
            bodies += [m["Body"] for m in msgs]
        return bodies

    def logs(self) -> dict[str, str]:
        """Every captured log file (region/function.log and the runtime's own), by path."""
        root = Path(self.state["logs"])
        out = {str(p.relative_to(root)): p.read_text(errors="replace") for p in sorted(root.rglob("*.log"))}
        console = self.state_dir / "console.log"
        if console.exists():
            out["console.log"] = console.read_text(errors="replace")
        return out

