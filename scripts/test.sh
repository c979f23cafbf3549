#!/usr/bin/env bash
# Set up (.venv; Chromium from Debian's packages where root), then run the whole test suite
# (unit, workflow end-to-end, SLURM where root).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
# tests/test_report.py opens the HTML report in headless Chromium (Debian's package)
if ! command -v chromium >/dev/null && [ "$(id -u)" -eq 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium
fi
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/snakefmt --check Snakefile workflow
exec .venv/bin/python -m pytest "$@"
