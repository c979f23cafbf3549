"""Assign folds for every seed of one split type and audit them (Snakemake script)."""

import pandas as pd

from mrnaprobe.cli import run_step
from mrnaprobe.provenance import read_json, write_json
from mrnaprobe.splits import (
    audit,
    compositional_summary,
    make_split,
    read_gene_group_map,
    split_status,
)


def step(smk):
    dataset = pd.read_parquet(smk.input.dataset)
    clusters = pd.read_csv(smk.input.clusters, sep="\t", dtype=str)
    hits = pd.read_csv(smk.input.hits, sep="\t", dtype={"query": str, "target": str})
    kind, options = smk.wildcards.split, dict(smk.params.options)
    if smk.input.gene_groups:
        options["gene_groups"] = read_gene_group_map(smk.input.gene_groups)
    not_computable = None if smk.params.strict else []
    split = make_split(kind, dataset, clusters, smk.params.seeds, options, smk.params.targets,
                       not_computable)  # fmt: skip
    homology = read_json(smk.input.homology)
    report = audit(split, hits, smk.params.settings, homology["command"])
    report["methods"] = homology.get("methods")
    report["not_computable"] = not_computable or []
    report["status"] = split_status(not_computable, len(smk.params.seeds))
    report.update(dataset=smk.wildcards.dataset, split=kind)
    if kind.startswith("compositional"):
        report["groups"] = compositional_summary(dataset, options["elements"], smk.params.targets)
    split.to_parquet(smk.output.split, index=False)
    write_json(report, smk.output.audit)


run_step(step, snakemake)  # noqa: F821
