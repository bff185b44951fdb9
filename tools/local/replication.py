"""Global-table replication emulated from the DynamoDB streams of every region.

Each stream record of a replicated table is copied to every *other* replica region of that
table, and to no other region: restricted tables replicate only inside their zone. Writes the
replicator itself made come back on the target's stream; they are recognised (echo) and not
copied again. A link whose source or target is down, or whose replication is cut, holds its
records (in order) until it comes back, as DynamoDB does after a regional outage.
"""

from __future__ import annotations

import base64
import json
import traceback
import threading
import time
from collections import defaultdict, deque

from tools.local import aws
from tools.local.topology import TableSpec


def _canon(value) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=_bytes)


def _bytes(value):
    if isinstance(value, (bytes, bytearray)):
        return "b64:" + base64.b64encode(bytes(value)).decode()
    raise TypeError(type(value).__name__)


class Replicator:
    def __init__(self, runtime, poll_s: float = 0.05):
        self.runtime, self.poll_s = runtime, poll_s
        self._lock = threading.Lock()
        self._pending: dict[tuple[str, str, str], deque] = defaultdict(deque)  # (table, src, dst) -> records
        self._echo: dict[tuple, list[float]] = defaultdict(list)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="replicator", daemon=True)
        self._clients: dict[str, object] = {}
        self.cut_all = False
        self.last_delay: dict[tuple[str, str, str], float] = {}

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    # ------------------------------------------------------------------ input
    def observe(self, region: str, spec: TableSpec, record, seen: float) -> None:
        """Called by a cell's stream reader for every new record of `spec` in `region`."""
        if not spec.replicated or len(spec.replicas) < 2:
            return
        ddb = record.record["dynamodb"]
        key = (region, spec.name, _canon(ddb["Keys"]), _canon(ddb.get("NewImage")))
        with self._lock:
            stamps = self._echo.get(key)
            if stamps:
                stamps.pop(0)
                if not stamps:
                    del self._echo[key]
                return  # our own replicated write coming back
            for dst in spec.replicas:
                if dst != region:
                    self._pending[(spec.name, region, dst)].append((seen, record.record["eventName"], ddb))

    # ------------------------------------------------------------------ state
    def link_blocked(self, src: str, dst: str) -> bool:
        cells = self.runtime.cells
        if self.cut_all:
            return True
        for r in (src, dst):
            f = cells[r].faults
            if f.down or f.storage_down or f.replication_cut:
                return True
        return False

    def lag(self) -> list[dict]:
        now = time.time()
        out = []
        with self._lock:
            links = {k: (len(q), q[0][0] if q else None) for k, q in self._pending.items()}
        for (table, src, dst), (n, oldest) in sorted(links.items()):
            out.append({"table": table, "from": src, "to": dst, "pending": n,
                        "lagSeconds": round(now - oldest, 3) if oldest else 0.0,
                        "lastDelaySeconds": round(self.last_delay.get((table, src, dst), 0.0), 3),
                        "blocked": self.link_blocked(src, dst)})
        return out

    def pending_total(self) -> int:
        with self._lock:
            return sum(len(q) for q in self._pending.values())

    # ------------------------------------------------------------------ apply
    def _client(self, region: str):
        c = self._clients.get(region)
        if c is None:
            c = self._clients[region] = aws.client("dynamodb", region, self.runtime.moto.url)
        return c

    def _loop(self) -> None:
        while not self._stop.wait(self.poll_s):
            try:
                self._round()
            except Exception:  # never let the replicator die
                traceback.print_exc()

    def _round(self) -> None:
        with self._lock:
            links = [k for k, q in self._pending.items() if q]
        for link in links:
            table, src, dst = link
            if self.link_blocked(src, dst):
                continue
            self._drain(link)
        self._expire_echoes()

    def _drain(self, link) -> None:
        table, src, dst = link
        q = self._pending[link]
        client = self._client(dst)
        while q and not self._stop.is_set() and not self.link_blocked(src, dst):
            seen, event, ddb = q[0]
            keys = ddb["Keys"]
            new = ddb.get("NewImage")
            if event == "REMOVE":
                if not aws.table_has(dst, table, keys):
                    with self._lock:
                        q.popleft()
                    continue  # nothing to delete, and moto emits no record for it
            echo = (dst, table, _canon(keys), _canon(new))
            with self._lock:
                self._echo[echo].append(time.time())
            try:
                if event == "REMOVE":
                    client.delete_item(TableName=table, Key=keys)
                else:
                    client.put_item(TableName=table, Item=new)
            except Exception:
                with self._lock:
                    stamps = self._echo.get(echo)
                    if stamps:
                        stamps.pop()
                        if not stamps:
                            del self._echo[echo]
                return  # retry on the next round
            with self._lock:
                q.popleft()
            self.last_delay[link] = time.time() - seen

    def _expire_echoes(self) -> None:
        cutoff = time.time() - 30
        with self._lock:
            for key in [k for k, v in self._echo.items() if v and v[0] < cutoff]:
                del self._echo[key]
