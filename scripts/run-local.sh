#!/usr/bin/env bash
# One command: set up (idempotent) and start the local multi-region stack of Application X.
# Prints where to open the dashboard; Ctrl-C stops everything. Extra arguments go to
# `python -m tools.local up` (e.g. --port 9090, --health-interval 0.5).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/python -m tools.local up "$@"
