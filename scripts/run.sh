#!/usr/bin/env bash
# Set up, then run the default pipeline (config/config.yaml) on all local cores.
# Extra arguments go to snakemake, e.g. `scripts/run.sh -n` for a dry-run. After the run,
# results/report.html holds every figure and table with its caption.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec .venv/bin/snakemake --cores all --report results/report.html --report-after-run "$@"
