"""Every family of the offline hub (tests/fakehub) through the engine on a GPU in bf16,
against the same model's CPU fp32 embedding.

For each hub id of each family, the first catalog entry (config/models.yaml) that names it
embeds the same sequences twice through `load_adapter` + the engine's batches: on the CPU in
fp32 and on the GPU in bf16 (the entry's compute dtype forced to bfloat16). Prints one JSON
line per hub id: the smallest cosine between the two, or the exact error of the side that
failed (a missing kernel package, say), and the largest difference relative to each row's
largest value (a bf16 run differs by about 1e-3; exactly 0 would mean fp32 ran).

    python -m tests.fakehub /tmp/hub
    HF_HUB_CACHE=/tmp/hub HF_HUB_OFFLINE=1 python benchmarks/fakehub_gpu.py
"""

import argparse
import json
from pathlib import Path

import numpy as np

from mrnaprobe.embed import plan_embedding, reduce_chunks, run_batches
from mrnaprobe.models import complete_spec, load_adapter, load_catalog

CATALOG = Path(__file__).resolve().parents[1] / "config" / "models.yaml"


def sequences(n: int = 20, seed: int = 0) -> list[str]:
    """Mixed lengths (under 50 nt to 3 kb, longer than most contexts), some with N."""
    rng = np.random.default_rng(seed)
    lengths = np.concatenate([[12, 30, 47], rng.integers(60, 3000, n - 3)])
    letters = np.array(list("ACGT"))
    out = ["".join(letters[rng.integers(0, 4, size)]) for size in lengths]
    return [s[:5] + "N" + s[6:] if i % 4 == 0 else s for i, s in enumerate(out)]


def specs_by_hub_id() -> dict[str, tuple[str, dict]]:
    """hub id -> (entry name, spec) of the first catalog entry that names it."""
    found = {}
    for name, entry in load_catalog(CATALOG).items():
        if entry.get("source") and entry["source"] not in found:
            found[entry["source"]] = (name, complete_spec(name, entry))
    return found


def embed(spec: dict, batch: list[str], device: str) -> np.ndarray:
    adapter = load_adapter(spec, spec["source"], None, device)
    plan = plan_embedding(adapter, batch, spec)
    selected, sums = run_batches(adapter, plan.chunks, plan.batches, spec, progress=False)
    return reduce_chunks(plan.chunks.owners[selected], sums,
                         plan.chunks.body[selected], plan.n_sequences)  # fmt: skip


def error_line(err: BaseException) -> str:
    return f"{type(err).__name__}: {(str(err).splitlines() or [''])[0][:300]}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("families", nargs="*", help="default: every fakehub family")
    args = parser.parse_args()

    import torch
    from transformers.utils import logging as hf_logging

    from tests.fakehub import FAMILIES

    hf_logging.set_verbosity_error()
    device = "cuda" if torch.cuda.is_available() else "cpu"
    batch = sequences()
    catalog = specs_by_hub_id()
    for family in args.families or FAMILIES:
        for hub_id in FAMILIES[family].hub_ids:
            row = {"family": family, "hub_id": hub_id, "device": device}
            if hub_id not in catalog:
                print(json.dumps({**row, "error": "no catalog entry names this hub id"}))
                continue
            row["entry"], spec = catalog[hub_id]
            try:
                reference = embed({**spec, "dtype": "float32"}, batch, "cpu")
            except Exception as err:  # reported, the other families still run
                row["cpu_error"] = error_line(err)
                reference = None
            try:
                got = embed({**spec, "dtype": "bfloat16"}, batch, device)
                row["finite"] = bool(np.isfinite(got).all())
                if reference is not None:
                    cos = (got * reference).sum(1) / (
                        np.linalg.norm(got, axis=1) * np.linalg.norm(reference, axis=1)
                    )
                    row["cos_min"] = round(float(cos.min()), 6)
                    scale = np.abs(reference).max(axis=1)
                    row["max_rel_diff"] = float(
                        f"{(np.abs(got - reference).max(1) / scale).max():.2e}"
                    )
            except Exception as err:
                row["gpu_error"] = error_line(err)
            print(json.dumps(row), flush=True)
            if device == "cuda":
                torch.cuda.empty_cache()


if __name__ == "__main__":
    main()
