"""Embed one dataset with one catalog model: .npy rows in dataset order + JSON sidecar."""

import numpy as np
import pandas as pd

from mrnaprobe.cli import run_step
from mrnaprobe.embed import embed_hf, naive_baseline
from mrnaprobe.provenance import code_version, read_json, write_json


def step(smk):
    spec = smk.params.spec
    sequences = pd.read_parquet(smk.input.dataset, columns=["sequence"])["sequence"].tolist()
    if spec["kind"] == "kmer":
        low, high = spec["k"]
        embeddings = naive_baseline(sequences, range(low, high + 1))
        source, revision = "kmer-naive-baseline", f"k{low}-{high}"
    else:
        source = smk.input.model if spec["kind"] == "random-init" else spec["source"]
        embeddings = embed_hf(sequences, spec, source, smk.params.model_cache, smk.threads)
        revision = spec["revision"] if spec["kind"] == "hf" else f"init_seed{spec['init_seed']}"
    np.save(smk.output.embeddings, embeddings)
    write_json(
        {
            "model": smk.wildcards.model,
            "kind": spec["kind"],
            "source": source if spec["kind"] == "hf" else smk.wildcards.model,
            "revision": revision,
            "pooling": spec["pooling"],
            "dim": int(embeddings.shape[1]),
            "dtype": str(embeddings.dtype),
            "rows": int(embeddings.shape[0]),
            "dataset": smk.wildcards.dataset,
            "dataset_sha256": read_json(smk.input.info)["sha256"],
            "code_version": code_version(),
        },
        smk.output.sidecar,
    )


run_step(step, snakemake)  # noqa: F821
