"""Loading the real functions (functions/<name>/handler.py) once per region, as Lambda would.

Each handler module exposes `make_handler(env, **overrides)` (docs/runtime-contract.md), so
several regions run in one process, each with its own environment. Lambda log capture: all
output written while a function runs lands in `<logs>/<region>/<function>.log`, like a
CloudWatch log group per region, so tests can search every captured log for plaintext.
"""

from __future__ import annotations

import importlib.util
import io
import sys
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from contextlib import contextmanager
from pathlib import Path

_ctx = threading.local()


def functions_dir(root: Path) -> Path:
    return root / "functions"


def handler_path(root: Path, name: str) -> Path:
    return functions_dir(root) / name / "handler.py"


_modules: dict[str, object] = {}
_load_lock = threading.Lock()


def load_module(root: Path, name: str):
    """Import functions/<name>/handler.py under a unique module name (all are `handler.py`)."""
    with _load_lock:
        if name in _modules:
            return _modules[name]
        fdir = str(functions_dir(root))
        if fdir not in sys.path:
            sys.path.insert(0, fdir)  # `import appx_common` works as in the Lambda bundle
        path = handler_path(root, name)
        spec = importlib.util.spec_from_file_location(f"appx_fn_{name}_handler", path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
        _modules[name] = module
        return module


class LambdaContext:
    def __init__(self, function_name: str, region: str, timeout_s: float = 30.0, memory: int = 512):
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:{region}:123456789012:function:{function_name}"
        self.memory_limit_in_mb = memory
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = f"local/{region}"
        self._deadline = time.monotonic() + timeout_s

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


@contextmanager
def running(region: str, function: str):
    """Mark the current thread as executing `function` in `region` (for log capture)."""
    prev = getattr(_ctx, "where", None)
    _ctx.where = (region, function)
    try:
        yield
    finally:
        _ctx.where = prev


class LogCapture(io.TextIOBase):
    """Replaces sys.stdout/sys.stderr: text written inside `running()` goes to that region's
    log file; anything else to the runtime log (and the console when `echo`)."""

    def __init__(self, log_dir: Path, original, echo: bool = False):
        self.log_dir, self.original, self.echo = log_dir, original, echo
        self._files: dict[tuple[str, str], object] = {}
        self._lock = threading.Lock()

    def _file(self, key: tuple[str, str]):
        f = self._files.get(key)
        if f is None:
            path = self.log_dir / key[0] / f"{key[1]}.log"
            path.parent.mkdir(parents=True, exist_ok=True)
            f = self._files[key] = open(path, "a", encoding="utf-8", buffering=1)
        return f

    def write(self, text: str) -> int:
        where = getattr(_ctx, "where", None)
        with self._lock:
            if where is None:
                self._file(("_runtime", "runtime")).write(text)
                if self.echo:
                    self.original.write(text)
            else:
                self._file(where).write(text)
        return len(text)

    def flush(self) -> None:
        with self._lock:
            for f in self._files.values():
                f.flush()

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return False

    def close_all(self) -> None:
        with self._lock:
            for f in self._files.values():
                f.close()
            self._files.clear()


def make(root: Path, name: str, env: Mapping[str, str], **overrides) -> Callable[[dict, object], dict]:
    return load_module(root, name).make_handler(dict(env), **overrides)


# Powertools' APIGatewayHttpResolver keeps the current event in a class attribute
# (BaseRouter.current_event), shared by every resolver in the process: two API events running
# at once in one process would read each other's request. Lambda never does that (one event
# per environment, one environment per process), so locally API invocations are serialized.
API_INVOCATION_LOCK = threading.Lock()


class HandlerPool:
    """Lambda execution environments of one function in one region.

    Lambda never runs two events in the same environment at once, and the handlers keep
    per-request state (the API's resolver holds the current event), so each concurrent request
    gets its own environment: an idle one, or a new one (cold start) up to the reserved
    concurrency; beyond that the caller waits, bounded by `wait_s`, then is throttled.
    """

    def __init__(self, factory: Callable[[], Callable], limit: int, on_create: Callable[[Callable], None] | None = None,
                 serialize: threading.Lock | None = None):
        self.factory, self.limit, self.on_create, self.serialize = factory, max(1, limit), on_create, serialize
        self._idle: list[Callable] = []
        self.instances: list[Callable] = []
        self._cond = threading.Condition()
        self._creating = 0  # environments being created (count against the limit)

    def warm(self) -> "HandlerPool":
        with self._cond:
            h = self._create()
            self._idle.append(h)
        return self

    def _create(self) -> Callable:
        h = self.factory()
        self.instances.append(h)
        if self.on_create:
            self.on_create(h)
        return h

    def _acquire(self, wait_s: float) -> Callable | None:
        """An idle environment, or a new one while under the limit; None when throttled."""
        deadline = time.monotonic() + wait_s
        with self._cond:
            while not self._idle and len(self.instances) + self._creating >= self.limit:
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self._cond.wait(left)
            if self._idle:
                return self._idle.pop()
            self._creating += 1
        try:
            return self._create()
        finally:
            with self._cond:
                self._creating -= 1
                self._cond.notify()

    def _release(self, h: Callable) -> None:
        with self._cond:
            self._idle.append(h)
            self._cond.notify()

    def __call__(self, event: dict, context: object, wait_s: float = 10.0):
        h = self._acquire(wait_s)
        if h is None:
            raise Throttled()
        try:
            if self.serialize is not None:
                with self.serialize:
                    return h(event, context)
            return h(event, context)
        finally:
            self._release(h)

    def apps(self) -> list:
        return [getattr(h, "app", None) for h in list(self.instances)]


class Throttled(Exception):
    """Reserved concurrency exhausted (API Gateway answers 503 for a throttled Lambda)."""
