"""Build artefacts: what the build vendors, and deploys that refuse to go without one."""

from __future__ import annotations

import json

import pytest

from components import packaging


def test_regional_functions_vendor_arm64_wheels_and_edge_x86_64():
    for function, platform in (("api", "manylinux2014_aarch64"), ("worker", "manylinux2014_aarch64"),
                               ("stream", "manylinux2014_aarch64"), ("edge", "manylinux2014_x86_64")):
        command = packaging.pip_command(function, packaging.BUILD_DIR / function)
        assert command[command.index("--platform") + 1] == platform
        assert command[command.index("--python-version") + 1] == "3.13"
        assert "--only-binary=:all:" in command


def test_code_only_build_packages_the_shared_code_next_to_the_handler(tmp_path):
    target = packaging.build("api", code_only=True, build_dir=tmp_path)
    assert (target / "handler.py").is_file()
    assert (target / "appx_common" / "__init__.py").is_file()
    manifest = json.loads((target / "appx-build.json").read_text())
    assert manifest == {"function": "api", "architecture": "arm64", "pythonVersion": "3.13", "vendored": False}


def test_deploying_without_a_build_names_the_command(tmp_path, monkeypatch):
    monkeypatch.setattr(packaging, "BUILD_DIR", tmp_path)
    with pytest.raises(packaging.BuildMissingError, match=r"run `python -m tools.build` first"):
        packaging.function_archive("api")


def test_deploying_a_code_only_build_is_refused(tmp_path, monkeypatch):
    packaging.build("worker", code_only=True, build_dir=tmp_path)
    monkeypatch.setattr(packaging, "BUILD_DIR", tmp_path)
    monkeypatch.delenv(packaging.OFFLINE_ENV, raising=False)
    with pytest.raises(packaging.BuildMissingError, match="code-only build"):
        packaging.function_archive("worker")
    monkeypatch.setenv(packaging.OFFLINE_ENV, "1")  # under mocks nothing is uploaded
    assert packaging.function_archive("worker").path == str(tmp_path / "worker")
