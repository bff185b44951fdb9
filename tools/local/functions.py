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
FUNCTION_NAMES = ("api", "worker", "stream", "edge")


def functions_dir(root: Path) -> Path:
    return root / "functions"


def handler_path(root: Path, name: str) -> Path:
    return functions_dir(root) / name / "handler.py"


def available(root: Path) -> dict[str, bool]:
    return {n: handler_path(root, n).exists() for n in FUNCTION_NAMES}


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
