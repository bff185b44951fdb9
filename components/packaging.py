"""Function code as deployable archives, taken from the build artefacts of `tools.build`.

The program never builds anything: `python -m tools.build` vendors each function's
dependencies as manylinux wheels for its runtime and architecture into `build/<function>/`
with a manifest. Deploying without (or with a code-only) build fails and says what to run.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pulumi

REPO_ROOT = Path(__file__).resolve().parent.parent
BUILD_DIR = REPO_ROOT / "build"
MANIFEST = "appx-build.json"
# Set by tools.stack_runner: mocks never upload code, so a code-only build is enough there.
OFFLINE_ENV = "APPX_OFFLINE_MOCKS"
BUILD_COMMAND = "python -m tools.build"


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
