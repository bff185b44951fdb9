"""In-function TTL cache for hot public reads and the write path's circuit breaker."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any


class TTLCache:
    def __init__(self, max_entries: int = 1024, ttl_seconds: float = 5.0, clock: Callable[[], float] = time.monotonic):
        self.max_entries, self.ttl, self.clock = max_entries, ttl_seconds, clock
        self._data: OrderedDict[Any, tuple[float, Any]] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def get(self, key: Any) -> Any | None:
        with self._lock:
            entry = self._data.get(key)
            if entry and entry[0] > self.clock():
                self._data.move_to_end(key)
                self.hits += 1
                return entry[1]
            if entry:
                del self._data[key]
            self.misses += 1
            return None

    def expires_in(self, key: Any) -> float:
        """Seconds the entry stays fresh (0 when absent): downstream caches must not outlive it."""
        with self._lock:
            entry = self._data.get(key)
            return max(0.0, entry[0] - self.clock()) if entry else 0.0

    def put(self, key: Any, value: Any) -> None:
        with self._lock:
            self._data[key] = (self.clock() + self.ttl, value)
            self._data.move_to_end(key)
            while len(self._data) > self.max_entries:
                self._data.popitem(last=False)

    def discard(self, key: Any) -> None:
        with self._lock:
            self._data.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()


class CircuitBreaker:
    """closed → (``threshold`` consecutive failures) → open → (``reset_seconds``) → half-open:
    one trial call; success closes, failure re-opens."""

    CLOSED, OPEN, HALF_OPEN = "closed", "open", "half-open"

    def __init__(self, threshold: int = 5, reset_seconds: float = 30.0, clock: Callable[[], float] = time.monotonic):
        self.threshold, self.reset_seconds, self.clock = threshold, reset_seconds, clock
        self.failures = 0
        self.opened_at: float | None = None
        self._trial = False
        self._lock = threading.Lock()

    @property
    def state(self) -> str:
        if self.opened_at is None:
            return self.CLOSED
        return self.HALF_OPEN if self.clock() - self.opened_at >= self.reset_seconds else self.OPEN

    def allow(self) -> bool:
        with self._lock:
            state = self.state
            if state == self.CLOSED:
                return True
            if state == self.HALF_OPEN and not self._trial:
                self._trial = True
                return True
            return False

    def success(self) -> None:
        with self._lock:
            self.failures, self.opened_at, self._trial = 0, None, False

    def failure(self) -> None:
        with self._lock:
            self.failures += 1
            self._trial = False
            if self.opened_at is not None or self.failures >= self.threshold:
                self.opened_at = self.clock()

    def force_open(self) -> None:
        with self._lock:
            self.opened_at, self._trial = self.clock(), False
