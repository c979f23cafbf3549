#!/usr/bin/env bash
# Set up, then run the whole test suite (unit, workflow end-to-end, SLURM where root).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/snakefmt --check Snakefile workflow
exec .venv/bin/python -m pytest "$@"
