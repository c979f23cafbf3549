"""CPU embedding throughput: mrnaprobe's engine against an mRNABench-style loop.

Both embed the same synthetic sequences with the same random-init ESM encoder (the
catalog's `esm-random-tiny`: 2 layers, hidden 64, 256-token context), fp32 on CPU. The loop
does what mRNABench's wrappers do: per sequence, the tokenizer's own call, then one chunk at
a time at batch size 1, mean of the token states over all chunks. Ours is
`mrnaprobe.embed.embed_sequences`, timed end to end (model load and tokenising included).
Runs alternate `--repeats` times and the best time of each counts (the machine is shared).

Usage: python benchmarks/embed_cpu.py [--n 2000] [--lengths windows|mrna] [--threads 1]
Prints one JSON line: seq/s of both (best wall time), the speedup (goal >= 3), the same
ratio in process CPU time (steadier on a shared machine) and the smallest cosine between
the two embeddings of a sequence.
"""

import argparse
import json
import math
import tempfile
import time

import numpy as np

from mrnaprobe.embed import build_random_encoder, embed_sequences
from mrnaprobe.models import resolve_models


def synthetic(n: int, lengths: str, seed: int = 0) -> list[str]:
    """`windows`: 101-nt windows (as the ELAVL1 CLIP set); `mrna`: log-normal lengths,
    median 1.5 kb, clipped to 200..6000 nt. About 0.5% N."""
    rng = np.random.default_rng(seed)
    if lengths == "windows":
        sizes = np.full(n, 101)
    else:
        sizes = np.clip(rng.lognormal(math.log(1500), 0.6, n), 200, 6000).astype(int)
    letters = np.array(list("ACGTN"))
    p = [0.249, 0.249, 0.249, 0.248, 0.005]
    return ["".join(letters[rng.choice(5, size, p=p)]) for size in sizes]


def load_reference(path: str, threads=None, device="cpu"):
    """Tokenizer and fp32 model as mRNABench's wrappers load them."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    if threads:
        torch.set_num_threads(threads)
    return AutoTokenizer.from_pretrained(path), AutoModel.from_pretrained(path).to(device).eval()


def mrnabench_loop(sequences, tokenizer, model, max_tokens: int, device="cpu"):
    """One sequence, one chunk at a time, batch 1, fp32; mean over all chunks' tokens."""
    import torch

    room = max_tokens - 2
    out = []
    with torch.inference_mode():
        for sequence in sequences:
            ids = tokenizer(sequence, add_special_tokens=False, verbose=False)["input_ids"]
            states = []
            for start in range(0, len(ids), room):
                chunk = [tokenizer.cls_token_id, *ids[start : start + room], tokenizer.eos_token_id]
                x = torch.tensor([chunk], device=device)
                hidden = model(input_ids=x, attention_mask=torch.ones_like(x)).last_hidden_state
                states.append(hidden[0, 1:-1])
            out.append(torch.cat(states).mean(0).cpu().numpy())
    return np.vstack(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--lengths", choices=["windows", "mrna"], default="windows")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()

    spec = resolve_models(["esm-random-tiny"], "config/models.yaml")["esm-random-tiny"]
    sequences = synthetic(args.n, args.lengths)
    with tempfile.TemporaryDirectory() as folder:
        build_random_encoder(folder, spec)
        loop_s, ours_s, loop_cpu, ours_cpu = [], [], [], []
        for _ in range(args.repeats):
            start, cpu = time.perf_counter(), time.process_time()
            tokenizer, model = load_reference(folder, args.threads)
            reference = mrnabench_loop(sequences, tokenizer, model, spec["max_tokens"])
            loop_s.append(time.perf_counter() - start)
            loop_cpu.append(time.process_time() - cpu)
            start, cpu = time.perf_counter(), time.process_time()
            ours, info = embed_sequences(sequences, spec, folder, threads=args.threads,
                                         progress=False)  # fmt: skip
            ours_s.append(time.perf_counter() - start)
            ours_cpu.append(time.process_time() - cpu)
    cosine = (ours * reference).sum(1) / np.linalg.norm(ours, axis=1)
    cosine /= np.linalg.norm(reference, axis=1)
    result = {
        "benchmark": "embed_cpu",
        "model": "esm-random-tiny",
        "params": info["params"],
        "n": args.n,
        "lengths": args.lengths,
        "nt": int(sum(map(len, sequences))),
        "threads": args.threads,
        "loop_seq_per_s": round(args.n / min(loop_s), 1),
        "ours_seq_per_s": round(args.n / min(ours_s), 1),
        "speedup": round(min(loop_s) / min(ours_s), 2),
        "loop_s": [round(s, 2) for s in loop_s],
        "ours_s": [round(s, 2) for s in ours_s],
        "cpu_time_speedup": round(min(loop_cpu) / min(ours_cpu), 2),
        "cos_min": round(float(cosine.min()), 6),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
