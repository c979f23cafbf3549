"""Probe one dataset x model x split for every seed; one long-format parquet per seed."""

import pandas as pd

from mrnaprobe.cli import run_step
from mrnaprobe.linear import native_bfloat16
from mrnaprobe.probe import load_embeddings, probe_seeds
from mrnaprobe.provenance import code_version, read_json


def step(smk):
    dataset = pd.read_parquet(smk.input.dataset)
    X = load_embeddings(smk.input.embeddings, dataset)
    sidecar = read_json(smk.input.sidecar)
    split = pd.read_parquet(smk.input.split)
    provenance = {
        "dataset": smk.wildcards.dataset,
        "model": smk.wildcards.model,
        "split": smk.wildcards.split,
        "dataset_sha256": sidecar["dataset_sha256"],
        "model_source": sidecar["source"],
        "model_revision": sidecar["revision"],
        "code_version": code_version(),
        "probe_solver": smk.params.solver,
        "probe_bfloat16": smk.params.solver == "fast" and native_bfloat16(),
    }
    seeds, solver = smk.params.seeds, smk.params.solver
    not_computable = read_json(smk.input.audit).get("not_computable")
    tables = probe_seeds(dataset, X, split, smk.params.targets, seeds, smk.threads, solver,
                         not_computable)  # fmt: skip
    for table, path in zip(tables, smk.output, strict=True):
        table.assign(**provenance).to_parquet(path, index=False)


run_step(step, snakemake)  # noqa: F821
