"""Layers point down: `functions/` < `components/` < `offline/` < `policy/` < `tools/`."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# package -> top-level packages of this project it must never import
FORBIDDEN = {
    "functions": {"components", "offline", "policy", "tools"},
    "components": {"offline", "policy", "tools"},
    "offline": {"policy", "tools"},
    "policy": {"tools"},
}


def _imported_packages(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_never_imports_a_higher_layer(package):
    offenders = {
        str(path.relative_to(ROOT)): sorted(_imported_packages(path) & FORBIDDEN[package])
        for path in (ROOT / package).rglob("*.py")
    }
    assert {p: found for p, found in offenders.items() if found} == {}
