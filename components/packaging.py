"""Function code as deployable archives, and how those artefacts are built (`tools.build` is the CLI).

The program never builds anything: `python -m tools.build` vendors each function's
dependencies as manylinux wheels for its runtime and architecture into `build/<function>/`
with a manifest. Deploying without (or with a code-only) build fails and says what to run.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pulumi

REPO_ROOT = Path(__file__).resolve().parent.parent
BUILD_DIR = REPO_ROOT / "build"
MANIFEST = "appx-build.json"
# Set by offline.stack_runner: mocks never upload code, so a code-only build is enough there.
OFFLINE_ENV = "APPX_OFFLINE_MOCKS"
BUILD_COMMAND = "python -m tools.build"
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


class BuildMissingError(RuntimeError):
    pass


def _checked_build(name: str) -> Path:
    directory = BUILD_DIR / name
    manifest = directory / MANIFEST
    if not manifest.is_file():
        raise BuildMissingError(f"no build artefact for function '{name}' in {directory}: run `{BUILD_COMMAND}` first")
    built = json.loads(manifest.read_text())
    if not built.get("vendored") and os.environ.get(OFFLINE_ENV) != "1":
        raise BuildMissingError(
            f"build/{name} is a code-only build (no vendored dependencies) and cannot be deployed: run `{BUILD_COMMAND}`"
        )
    return directory


def function_archive(name: str) -> pulumi.Archive:
    return pulumi.FileArchive(str(_checked_build(name)))


def function_archive_with(name: str, extra_file: str, content: pulumi.Input[str]) -> pulumi.Output[pulumi.Archive]:
    """The function's build plus one generated file (the edge function's config.json)."""
    directory = _checked_build(name)
    files = {
        str(path.relative_to(directory)): pulumi.FileAsset(str(path))
        for path in sorted(directory.rglob("*"))
        if path.is_file() and path.name != MANIFEST and "__pycache__" not in path.parts
    }
    return pulumi.Output.from_input(content).apply(
        lambda text: pulumi.AssetArchive({**files, extra_file: pulumi.StringAsset(text)})
    )
