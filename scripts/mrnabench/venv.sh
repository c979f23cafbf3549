#!/usr/bin/env bash
# A virtual environment with mRNABench's own code (mrna-bench 1.3.2, AGPL), to RECORD facts
# from it (splits, catalog, embeddings) for the parity tests; nothing of it is imported by
# mRNAProbe itself.
#
#   scripts/mrnabench/venv.sh [--models] [DIR]     # DIR: $MRNABENCH_VENV, else .venv-mrnabench
#
# --models adds the versions mrna-bench 1.3.2 pins for its base models (its `base-models`
# extra) where they install on a CPU machine from PyPI: transformers 4.38.0, multimolecule
# 0.0.7 (+ danling 0.3.13), rna-fm 0.2.2, accelerate 1.8.1. Left out: torch 2.2.2 (torch
# 2.13 CPU instead: 2.2.2 has no wheel for this Python/CPU set-up here, and the wrappers only
# call stable torch APIs), flash-attn and mamba-ssm (CUDA kernels), evo-model, borzoi-pytorch,
# enformer-pytorch and ViennaRNA (families whose wrappers need a GPU or that mRNAProbe does
# not record). scripts/mrnabench/record_models.py and record_splits.py run in this environment.
set -euo pipefail
models=0
if [[ "${1:-}" == "--models" ]]; then
    models=1
    shift
fi
dir="${1:-${MRNABENCH_VENV:-.venv-mrnabench}}"
python3 -m venv "$dir"
"$dir/bin/python" -m pip install -q --upgrade pip
"$dir/bin/python" -m pip install -q "${TORCH_SPEC:-torch==2.13.0}" "mrna-bench==1.3.2"
if ((models)); then
    "$dir/bin/python" -m pip install -q "${TORCH_SPEC:-torch==2.13.0}" \
        "transformers==4.38.0" "multimolecule==0.0.7" "danling==0.3.13" "rna-fm==0.2.2" \
        "accelerate==1.8.1" "pyarrow==20.0.0" "datasets<4"
fi
"$dir/bin/python" -c "import mrna_bench, torch; print('mrna-bench ready, torch', torch.__version__)"
