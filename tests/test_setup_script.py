"""scripts/setup.sh shows progress (a line per step and per package pip fetches), propagates a
pip failure, and skips pip while the requirement files are unchanged. pip itself is a stand-in
(.venv/bin/python printing what pip prints), so no network and no change to the real .venv."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REQUIREMENTS = ("requirements-dev.txt", "requirements.txt", "requirements-local.txt", "policy/requirements.txt",
                "functions/requirements.txt")
PIP_SAYS = """Requirement already satisfied: pip in ./lib (25.0)
Collecting boto3==1.44.8 (from -r requirements-dev.txt (line 5))
  Downloading boto3-1.44.8-py3-none-any.whl.metadata (6.7 kB)
Using cached moto-5.2.5-py3-none-any.whl
Installing collected packages: boto3
Successfully installed boto3-1.44.8
"""


def project(tmp_path: Path, pip_exit: int = 0) -> Path:
    (tmp_path / "scripts").mkdir()
    shutil.copy(ROOT / "scripts" / "setup.sh", tmp_path / "scripts")
    for name in REQUIREMENTS:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / name, tmp_path / name)
    python = tmp_path / ".venv" / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.write_text(f"#!/bin/sh\ncat <<'OUT'\n{PIP_SAYS}OUT\nexit {pip_exit}\n")
    python.chmod(0o755)
    return tmp_path


def setup(root: Path) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "scripts/setup.sh"], cwd=root, capture_output=True, text=True, timeout=60)


def test_first_run_prints_steps_and_packages_second_run_skips_pip(tmp_path):
    root = project(tmp_path)
    first = setup(root)
    assert first.returncode == 0, first.stderr
    lines = first.stdout.splitlines()
    assert "[setup] upgrading pip" in lines and "[setup] done" in lines
    assert any(line.startswith("[setup] installing the pinned dependencies") for line in lines)
    assert "  fetching boto3==1.44.8" in lines and "  installed: boto3-1.44.8" in lines
    assert not any("Requirement already satisfied" in line or "Downloading" in line for line in lines)  # the noise
    second = setup(root)
    assert second.returncode == 0 and second.stdout.splitlines() == ["[setup] dependencies up to date (.venv)"]
    (root / "requirements.txt").write_text((root / "requirements.txt").read_text() + "\n# changed\n")
    assert "[setup] upgrading pip" in setup(root).stdout  # a changed pin installs again


def test_a_pip_failure_fails_setup_and_is_shown(tmp_path):
    root = project(tmp_path, pip_exit=1)
    done = setup(root)
    assert done.returncode == 1
    assert not (root / ".venv" / ".requirements.sha256").exists()
