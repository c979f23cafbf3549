#!/usr/bin/env bash
# Issue 21's prepared GPU check, one command on a GPU machine from the repository root:
#   benchmarks/gpu_check.sh [embed] [profile] [fakehub]      (default: embed fakehub)
# embed:   the ~100M encoder (benchmarks/embed_gpu.py) in the fused variants against the
#          mRNABench-style batch-1 fp32 loop, side by side in one process;
# profile: the top CUDA kernels of the fused forward, eager and with compiled steps;
# fakehub: every family of the offline hub of tiny real architectures (tests/fakehub) on the
#          GPU in bf16 against CPU fp32 (benchmarks/fakehub_gpu.py).
# Python packages missing there (multimolecule and its needs) travel as wheels in .whl/.
# Results: JSON lines under $OUT (default results/gpu_check).
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-results/gpu_check}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 PYTHONPATH="$PWD:$PWD/benchmarks${PYTHONPATH:+:$PYTHONPATH}"
if compgen -G ".whl/*.whl" >/dev/null; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target /tmp/site .whl/*.whl && export PYTHONPATH="$PYTHONPATH:/tmp/site"
fi
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv | tee "$OUT/gpu.txt"
python3 -c "import torch, transformers; print('torch', torch.__version__,
    'transformers', transformers.__version__)" | tee -a "$OUT/gpu.txt"
steps=${*:-embed fakehub}
if [[ " $steps " == *" embed "* ]]; then
    timeout 400 python3 benchmarks/embed_gpu.py --n 4000 --budgets 262144,524288 --loop-n 100 \
        --size 100m-h768 --variants fused,fused-compiled 2>&1 \
        | tee "$OUT/embed_gpu.jsonl"
fi
if [[ " $steps " == *" profile "* ]]; then  # top CUDA kernels, eager and compiled steps
    for variant in fused fused-compiled; do
        timeout 120 python3 benchmarks/embed_gpu.py --n 400 --warm 200 --budgets 524288 \
            --size 100m-h768 --variants $variant --profile "$OUT/profile_$variant.txt" 2>&1 \
            | tee -a "$OUT/profile.jsonl"
    done
fi
if [[ " $steps " == *" fakehub "* ]]; then
    hub=$(mktemp -d)
    python3 -m tests.fakehub "$hub" >"$OUT/fakehub.tsv" 2>&1 || tail -5 "$OUT/fakehub.tsv"
    HF_HUB_CACHE=$hub HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 timeout 150 \
        python3 benchmarks/fakehub_gpu.py 2>&1 | tee "$OUT/fakehub_gpu.jsonl"
fi
