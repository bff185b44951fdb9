"""Contract tests: the real edge function against CloudFront's documented rules. The function
fixtures (keys, bundled config, handler modules) are the function tests' own."""

from __future__ import annotations

import pytest

from tests.functions.conftest import edge_config, keys, modules  # noqa: F401  (fixtures)


@pytest.fixture
def edge(modules, edge_config):  # noqa: F811
    return modules["edge"].make_handler({}, config=edge_config)
