"""Cluster one dataset by MMseqs2 homology (Snakemake script)."""

import pandas as pd

from mrnaprobe.cli import run_step
from mrnaprobe.homology import cluster_dataset, region_sequences, search_methods
from mrnaprobe.provenance import write_json


def step(smk):
    region = smk.params.region
    columns = ["id", "sequence", *([region["column"]] if region and "column" in region else [])]
    dataset = pd.read_parquet(smk.input[0], columns=columns)
    settings, name = smk.params.settings, smk.wildcards.dataset
    clusters, hits, command = cluster_dataset(dataset, settings, smk.threads, region, name)
    lengths = region_sequences(dataset, region).str.len()
    clusters.to_csv(smk.output.clusters, sep="\t", index=False)
    hits.to_csv(smk.output.hits, sep="\t", index=False)
    sizes = clusters["cluster"].value_counts()
    write_json(
        {
            "sequences": len(clusters),
            "clusters": len(sizes),
            "singletons": int((sizes == 1).sum()),
            "largest_cluster": int(sizes.max()),
            "hits": len(hits),
            "command": command,
            "methods": search_methods(lengths, settings),
            "settings": smk.params.settings,
            "region": region,
        },
        smk.output.info,
    )


run_step(step, snakemake)  # noqa: F821
