"""Lambda entry points built from an app object, shared by every function.

`expose(app)` is what `make_handler(env, **overrides)` returns (tests and the local runtime
reach the app through `handler.app`); `lazy_handler(factory)` is the module-level `handler`
Lambda calls, built on first invocation so importing a handler module has no side effects.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Handler = Callable[[dict, object], dict]


def expose(app: Callable[[dict, object], dict]) -> Handler:
    def handler(event: dict, context: object = None) -> dict:
        return app(event, context)

    handler.app = app  # type: ignore[attr-defined]
    return handler


def lazy_handler(factory: Callable[[], Handler]) -> Handler:
    built: list[Handler] = []

    def handler(event: dict, context: Any) -> dict:
        if not built:
            built.append(factory())
        return built[0](event, context)

    return handler
