"""GPU embedding throughput of mrnaprobe's engine against an mRNABench-style loop.

Builds a random-init ESM encoder of the shape asked for (NT-v2-like sizes, as in
../shared/bench/gpu_embed_calib.py, but single-nucleotide tokens), embeds synthetic
mRNA-length sequences (log-normal, median 2.4 kb, clipped to 200..12,000 nt) with the
engine (`plan_embedding` + `run_batches`) in each variant asked for, one process, one GPU:

- `fused`: mrnaprobe's fused ESM forward (`mrnaprobe.fused`, the default), bf16 weights;
- `fused-compiled`: the same with its rotary and add+LayerNorm steps compiled (torch.compile,
  dynamic shapes; compile time falls in the untimed warm-up), a candidate default;
- `bf16`: transformers' own forward, parameters cast once to bf16 (`fused: false`,
  `cast_weights: true`);
- `autocast`: transformers' own forward, fp32 weights under bf16 autocast.

Each variant loads the model once, runs the first `--warm` sequences untimed, then times
the whole set. The loop (batch 1, fp32, one chunk at a time, as
mRNABench embeds) runs on the first `--loop-n` sequences; speedups compare nucleotides per
second, so the subset's lengths do not bias them.

    python benchmarks/embed_gpu.py --size 100m --n 4000 --budgets 65536,262144 --loop-n 100
    python benchmarks/embed_gpu.py --size tiny --n 40 --variants bf16       # CPU works too

Prints one JSON line per variant and budget: seq/s, tokens/s, TFLOP/s (2 x params x
tokens / s) and % of the GPU's bf16 dense peak (990 TFLOP/s on an H200, 790 on an H100, or
--peak; a measured 8192^3 bf16 product comes first), peak GPU memory, speedup over the loop
and the smallest cosine to the loop's embeddings; and one line for the loop.
`--profile FILE` writes the top CUDA kernels of a few batches (first variant) to FILE.
"""

import argparse
import contextlib
import itertools
import json
import math
import tempfile
import time

import numpy as np
from embed_cpu import load_reference, mrnabench_loop  # benchmarks/ is on sys.path

from mrnaprobe.embed import build_random_encoder, plan_embedding, reduce_chunks, run_batches
from mrnaprobe.models import complete_spec, load_adapter

SIZES = {  # hidden, layers, heads (feed-forward 4 x hidden)
    "tiny": (64, 2, 4),
    "100m": (512, 22, 16),  # NT-v2-100m's shape (70M parameters with a GELU feed-forward)
    "100m-h768": (768, 14, 12),  # 99M parameters
    "500m": (1024, 29, 16),
}
VARIANTS = {
    "fused": {},
    "fused-compiled": {},  # and compiled_steps()
    "bf16": {"fused": False, "cast_weights": True},
    "autocast": {"fused": False},
}
PEAK_TFLOPS = {"H200": 990.0, "H100": 790.0}  # bf16 dense peak by GPU name (issue 21's figures)


def peak_tflops(device_name: str, given: float | None) -> float | None:
    """The bf16 peak that `pct_of_peak` divides by: --peak, else by GPU name (None: unknown)."""
    if given:
        return given
    return next((peak for gpu, peak in PEAK_TFLOPS.items() if gpu in device_name), None)


def matmul_tflops(device: str, size: int = 8192, repeats: int = 10) -> float:
    """Measured bf16 TFLOP/s of a size^3 matrix product on this GPU (the practical ceiling)."""
    import torch

    a, b = (torch.randn(size, size, device=device, dtype=torch.bfloat16) for _ in range(2))
    for _ in range(3):
        a @ b
    sync()
    start = time.perf_counter()
    for _ in range(repeats):
        a @ b
    sync()
    return round(2 * size**3 * repeats / (time.perf_counter() - start) / 1e12, 1)


def synthetic(n: int, seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    sizes = np.clip(rng.lognormal(math.log(2400), 0.6, n), 200, 12000).astype(int)
    letters = np.array(list("ACGT"))
    return ["".join(letters[rng.integers(0, 4, size)]) for size in sizes]


def sync() -> None:
    import torch

    if torch.cuda.is_available():
        torch.cuda.synchronize()


def embed(adapter, sequences, spec):
    """Embeddings and device seconds of the engine (tokenising and planning not timed)."""
    plan = plan_embedding(adapter, sequences, spec)
    sync()
    start = time.perf_counter()
    selected, sums = run_batches(adapter, plan.chunks, plan.batches, spec, progress=False)
    embeddings = reduce_chunks(plan.chunks.owners[selected], sums,
                               plan.chunks.body[selected], plan.n_sequences)  # fmt: skip
    return embeddings, time.perf_counter() - start, int(plan.chunks.body.sum())


def profile(adapter, sequences, spec, path: str) -> None:
    """Top CUDA kernels (by total device time) of embedding `sequences`."""
    from torch.profiler import ProfilerActivity
    from torch.profiler import profile as torch_profile

    with torch_profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
        embed(adapter, sequences, spec)
    with open(path, "w") as handle:
        handle.write(prof.key_averages().table(sort_by="cuda_time_total", row_limit=30))


def attention_backends(name: str):
    """A context that lets SDPA use only the named backends (`default`: its own choice;
    `flash` falls back to memory-efficient attention for padded batches)."""

    from torch.nn.attention import SDPBackend, sdpa_kernel

    choices = {
        "flash": [SDPBackend.FLASH_ATTENTION, SDPBackend.EFFICIENT_ATTENTION],
        "efficient": [SDPBackend.EFFICIENT_ATTENTION],
    }
    return contextlib.nullcontext() if name == "default" else sdpa_kernel(choices[name])


@contextlib.contextmanager
def compiled_steps(variant: str):
    """For `fused-compiled`: the fused forward's elementwise steps (`mrnaprobe.fused.rotate`,
    `add_norm`) through torch.compile with dynamic shapes, one generated kernel each."""
    from mrnaprobe import fused

    saved = fused.rotate, fused.add_norm
    if variant == "fused-compiled":
        import torch

        fused.rotate, fused.add_norm = (torch.compile(step, dynamic=True) for step in saved)
    try:
        yield
    finally:
        fused.rotate, fused.add_norm = saved


def cosine_min(a: np.ndarray, b: np.ndarray) -> float:
    cos = (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
    return round(float(cos.min()), 6)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=list(SIZES), default="100m")
    parser.add_argument("--n", type=int, default=4000)
    parser.add_argument("--budgets", default="65536", help="padded tokens per batch, commas")
    parser.add_argument("--variants", default="fused,bf16")
    parser.add_argument("--max-tokens", type=int, default=1024, help="context per chunk")
    parser.add_argument("--warm", type=int, default=96, help="untimed sequences first")
    parser.add_argument("--loop-n", type=int, default=0, help="time the loop on this many")
    parser.add_argument(
        "--sdpa",
        default="default",
        help="attention backends to compare, commas: default, flash, efficient",
    )
    parser.add_argument("--profile", help="write a kernel table of the first variant here")
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--peak", type=float, help="bf16 peak TFLOP/s (default: by GPU name)")
    args = parser.parse_args()

    import torch
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    torch.set_num_threads(args.threads)
    cuda = torch.cuda.is_available()
    device = "cuda" if cuda else "cpu"
    hidden, layers, heads = SIZES[args.size]
    base = {"kind": "random-init", "hidden_size": hidden, "layers": layers, "heads": heads,
            "max_tokens": args.max_tokens}  # fmt: skip
    sequences = synthetic(args.n)
    nt = sum(map(len, sequences))
    common = {"device": torch.cuda.get_device_name() if cuda else "cpu", "size": args.size,
              "n": args.n, "nt": nt, "torch": torch.__version__}  # fmt: skip
    args.peak = peak_tflops(common["device"], args.peak)
    if cuda:
        print(json.dumps({**common, "variant": "bf16-matmul-8192", "peak": args.peak,
                          "tflops": matmul_tflops(device)}), flush=True)  # fmt: skip
    with tempfile.TemporaryDirectory() as folder:
        build_random_encoder(folder, complete_spec(args.size, base))
        loop_nt_s = reference = None
        if args.loop_n:
            subset = sequences[: args.loop_n]
            tokenizer, model = load_reference(folder, device=device)
            mrnabench_loop(subset[:2], tokenizer, model, args.max_tokens, device)  # warm
            sync()
            start = time.perf_counter()
            reference = mrnabench_loop(subset, tokenizer, model, args.max_tokens, device)
            seconds = time.perf_counter() - start
            loop_nt_s = sum(map(len, subset)) / seconds
            print(json.dumps({**common, "variant": "mrnabench-loop", "n": len(subset),
                              "seq_per_s": round(len(subset) / seconds, 2),
                              "nt_per_s": round(loop_nt_s)}), flush=True)  # fmt: skip
            del model
        budgets = [int(b) for b in args.budgets.split(",")]
        runs = itertools.product(args.variants.split(","), budgets, args.sdpa.split(","))
        for variant, budget, sdpa in runs:
            spec = complete_spec(args.size, {**base, **VARIANTS[variant], "token_budget": budget})
            try:
                with attention_backends(sdpa), compiled_steps(variant):
                    row = run_variant(spec, folder, sequences, args, device, reference, loop_nt_s)
            except Exception as err:  # a failed variant is reported, the others still run
                row = {"error": f"{type(err).__name__}: {str(err).splitlines()[0][:300]}"}
            print(json.dumps({**common, "variant": variant, "budget": budget, "sdpa": sdpa,
                              **row}), flush=True)  # fmt: skip
            if cuda:
                torch.cuda.empty_cache()


def run_variant(spec, folder, sequences, args, device, reference, loop_nt_s) -> dict:
    import torch

    start = time.perf_counter()
    adapter = load_adapter(spec, folder, None, device)
    embed(adapter, sequences[: args.warm], spec)
    warm_s = time.perf_counter() - start
    if args.profile:
        profile(adapter, sequences[: args.warm], spec, args.profile)
        args.profile = None
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    embeddings, seconds, tokens = embed(adapter, sequences, spec)
    tflops = 2 * adapter.n_params * tokens / seconds / 1e12
    row = {
        "params": adapter.n_params,
        "tokens": tokens,
        "load_warm_s": round(warm_s, 1),
        "seconds": round(seconds, 2),
        "seq_per_s": round(len(sequences) / seconds, 1),
        "tokens_per_s": round(tokens / seconds),
        "tflops": round(tflops, 1),
        "pct_of_peak": round(100 * tflops / args.peak, 1) if args.peak else None,
        "peak_gpu_gib": round(torch.cuda.max_memory_allocated() / 2**30, 2)
        if device == "cuda"
        else None,
        "forward": "fused-esm" if adapter.fused is not None else "model",
        "finite": bool(np.isfinite(embeddings).all()),
    }
    if reference is not None:
        nt_s = sum(map(len, sequences)) / seconds
        row["speedup_vs_loop"] = round(nt_s / loop_nt_s, 1)
        row["cos_min_vs_loop"] = cosine_min(embeddings[: len(reference)], reference)
    return row


if __name__ == "__main__":
    main()
