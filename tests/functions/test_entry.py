"""The module-level Lambda entry points: built once, on first call, and forwarding events."""

from __future__ import annotations


def test_lazy_handler_builds_once_on_first_call(modules):
    from appx_common.entry import expose, lazy_handler

    built = []

    def factory():
        built.append(1)
        return expose(lambda event, context: {"echo": event["n"]})

    handler = lazy_handler(factory)
    assert built == []  # importing a handler module builds nothing
    assert [handler({"n": n}, None)["echo"] for n in range(3)] == [0, 1, 2]
    assert built == [1]


def test_every_function_module_exposes_a_lazy_entry_point_and_a_factory(modules):
    for name in ("api", "worker", "stream", "edge"):
        module = modules[name]
        assert callable(module.handler) and callable(module.make_handler)
        assert not hasattr(module.handler, "app")  # nothing built at import time
