#!/usr/bin/env bash
# Create .venv and install every pinned dependency (idempotent). Prints one line per step and
# one per package pip fetches, so the first run (about a minute) is never silent; later runs
# skip pip entirely while the requirement files are unchanged.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
STAMP=.venv/.requirements.sha256
REQUIREMENTS=(requirements-dev.txt requirements.txt requirements-local.txt policy/requirements.txt functions/requirements.txt)

step() { printf '[setup] %s\n' "$*"; }

# pip without -q, reduced to what shows progress: one line per package it fetches or builds,
# then what it installed; warnings and errors pass through.
progress() {
  grep --line-buffered -E '^(Collecting|Building|Installing collected|Successfully installed|WARNING|ERROR)|rror' \
    | sed -u -E 's/^Collecting ([^ ]+).*/  fetching \1/; s/^Successfully installed (.*)/  installed: \1/' || true
}

if [ ! -x .venv/bin/python ]; then
  step "creating .venv with $("$PYTHON" --version 2>&1)"
  "$PYTHON" -m venv .venv
fi
wanted=$(cat "${REQUIREMENTS[@]}" 2>/dev/null | sha256sum | cut -d' ' -f1)
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$wanted" ]; then
  step "dependencies up to date (.venv)"
  exit 0
fi
step "upgrading pip"
.venv/bin/python -m pip install --disable-pip-version-check --progress-bar off --upgrade pip | progress
step "installing the pinned dependencies of requirements-dev.txt (first run: about a minute)"
.venv/bin/python -m pip install --disable-pip-version-check --progress-bar off -r requirements-dev.txt | progress
echo "$wanted" > "$STAMP"
step "done"
