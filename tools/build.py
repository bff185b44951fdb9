"""Build the deployable artefact of every function into build/<function>/.

    python -m tools.build               # code + dependencies vendored as manylinux wheels
    python -m tools.build --code-only   # code only (offline; good for mocks, refused by deploys)

Each function gets its handler, the shared `appx_common` package next to it, and the wheels of
functions/requirements.txt for its runtime and architecture: arm64 for the regional functions,
x86_64 for Lambda@Edge. A manifest records what was built; the program deploys only vendored builds.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

from components.packaging import BUILD_DIR, MANIFEST, REPO_ROOT

FUNCTIONS_DIR = REPO_ROOT / "functions"
SHARED_PACKAGE = "appx_common"
PYTHON_VERSION = "3.13"
# function -> Lambda architecture
ARCHITECTURES = {"api": "arm64", "worker": "arm64", "stream": "arm64", "edge": "x86_64"}
PLATFORMS = {"arm64": "manylinux2014_aarch64", "x86_64": "manylinux2014_x86_64"}
_IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", "tests", "config.json")


def pip_command(function: str, target: Path) -> list[str]:
    """The pip call that vendors a function's dependencies for Lambda, never for this machine."""
    requirements = FUNCTIONS_DIR / function / "requirements.txt"
    if not requirements.exists():
        requirements = FUNCTIONS_DIR / "requirements.txt"
    return [
        sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
        "--target", str(target),
        "--platform", PLATFORMS[ARCHITECTURES[function]],
        "--implementation", "cp",
        "--python-version", PYTHON_VERSION,
        "--only-binary=:all:",
        "-r", str(requirements),
    ]


def build(function: str, code_only: bool, build_dir: Path = BUILD_DIR) -> Path:
    source = FUNCTIONS_DIR / function
    if not (source / "handler.py").is_file():
        raise SystemExit(f"functions/{function}/handler.py not found")
    target = build_dir / function
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(source, target, ignore=_IGNORED)
    shutil.copytree(FUNCTIONS_DIR / SHARED_PACKAGE, target / SHARED_PACKAGE, ignore=_IGNORED)
    if not code_only:
        subprocess.run(pip_command(function, target), check=True)
    manifest = {
        "function": function,
        "architecture": ARCHITECTURES[function],
        "pythonVersion": PYTHON_VERSION,
        "vendored": not code_only,
    }
    (target / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.build", description=__doc__.splitlines()[0])
    parser.add_argument("--code-only", action="store_true", help="skip vendoring dependencies (no network)")
    parser.add_argument("functions", nargs="*", metavar="FUNCTION", help=f"any of {', '.join(ARCHITECTURES)} (default: all)")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.functions) - set(ARCHITECTURES))
    if unknown:
        parser.error(f"unknown function(s) {', '.join(unknown)} (allowed: {', '.join(ARCHITECTURES)})")
    for function in args.functions or ARCHITECTURES:
        target = build(function, args.code_only)
        print(f"built {function:<7} {ARCHITECTURES[function]:<7} {'code only' if args.code_only else 'vendored'} -> {target.relative_to(REPO_ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
