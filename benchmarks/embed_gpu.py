"""GPU embedding throughput of mrnaprobe's engine (for a machine with a GPU).

Builds a random-init ESM encoder of the shape asked for (NT-v2-like sizes, as in
../shared/bench/gpu_embed_calib.py, but single-nucleotide tokens), embeds synthetic
mRNA-length sequences (log-normal, median 2.4 kb, clipped to 200..12,000 nt) with
`mrnaprobe.embed.embed_sequences` (bf16 autocast, token-budget batches), and optionally
times the mRNABench-style loop (batch 1, fp32) on the first `--loop-n` sequences.

    python benchmarks/embed_gpu.py --size 100m --n 20000 --budget 65536
    python benchmarks/embed_gpu.py --size tiny --n 40          # runs on CPU too

Prints one JSON line: device, params, seq/s, tokens/s, TFLOP/s (2 x params x tokens / s),
peak GPU memory, and the loop's seq/s and the speedup when `--loop-n` > 0.
"""

import argparse
import json
import math
import tempfile
import time

import numpy as np
from embed_cpu import mrnabench_loop  # benchmarks/ is on sys.path when run as a script

from mrnaprobe.embed import build_random_encoder, embed_sequences
from mrnaprobe.models import complete_spec

SIZES = {  # hidden, layers, heads (feed-forward 4 x hidden)
    "tiny": (64, 2, 4),
    "100m": (512, 22, 16),
    "500m": (1024, 29, 16),
}


def synthetic(n: int, seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    sizes = np.clip(rng.lognormal(math.log(2400), 0.6, n), 200, 12000).astype(int)
    letters = np.array(list("ACGT"))
    return ["".join(letters[rng.integers(0, 4, size)]) for size in sizes]


def loop_seq_per_s(sequences, path: str, max_tokens: int) -> float:
    """Throughput of the mRNABench-style loop (batch 1, fp32), model load included as for ours."""
    import torch

    device = "cuda" if torch.cuda.is_available() else "cpu"
    start = time.perf_counter()
    mrnabench_loop(sequences, path, max_tokens, device=device)  # ends with a copy to the host
    return len(sequences) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=list(SIZES), default="100m")
    parser.add_argument("--n", type=int, default=20000)
    parser.add_argument("--budget", type=int, default=65536, help="padded tokens per batch")
    parser.add_argument("--max-tokens", type=int, default=1024, help="context per chunk")
    parser.add_argument("--dtype", choices=["bfloat16", "float16", "float32"], default="bfloat16")
    parser.add_argument("--loop-n", type=int, default=0, help="also time the loop on this many")
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args()

    import torch

    hidden, layers, heads = SIZES[args.size]
    spec = complete_spec(args.size, {
        "kind": "random-init", "hidden_size": hidden, "layers": layers, "heads": heads,
        "max_tokens": args.max_tokens, "token_budget": args.budget,
        "cpu_token_budget": args.budget, "dtype": args.dtype,
    })  # fmt: skip
    sequences = synthetic(args.n)
    with tempfile.TemporaryDirectory() as folder:
        build_random_encoder(folder, spec)
        embed_sequences(sequences[:8], spec, folder, threads=args.threads, progress=False)  # warm
        if torch.cuda.is_available():
            torch.cuda.reset_peak_memory_stats()
        start = time.perf_counter()
        embeddings, info = embed_sequences(sequences, spec, folder, threads=args.threads)
        seconds = time.perf_counter() - start
        loop = None
        if args.loop_n:
            loop = loop_seq_per_s(sequences[: args.loop_n], folder, args.max_tokens)
    result = {
        "benchmark": "embed_gpu",
        "device": torch.cuda.get_device_name() if torch.cuda.is_available() else "cpu",
        "size": args.size,
        "params": info["params"],
        "n": args.n,
        "nt": int(sum(map(len, sequences))),
        "tokens": info["tokens"],
        "budget": args.budget,
        "dtype": args.dtype,
        "seconds": round(seconds, 2),
        "seq_per_s": round(args.n / seconds, 1),
        "tokens_per_s": round(info["tokens"] / seconds, 1),
        "tflops": round(2 * info["params"] * info["tokens"] / seconds / 1e12, 2),
        "engine_seq_per_s": info["seq_per_s"],
        "peak_gpu_gib": round(torch.cuda.max_memory_allocated() / 2**30, 2)
        if torch.cuda.is_available()
        else None,
        "loop_seq_per_s": round(loop, 2) if loop else None,
        "speedup_vs_loop": round(args.n / seconds / loop, 1) if loop else None,
        "finite": bool(np.isfinite(embeddings).all()),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
