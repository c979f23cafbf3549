"""Cluster one dataset by MMseqs2 homology (Snakemake script)."""

import pandas as pd

from mrnaprobe.cli import run_step
from mrnaprobe.homology import cluster_dataset
from mrnaprobe.provenance import write_json


def step(smk):
    region = smk.params.region
    columns = ["id", "sequence", *([region["column"]] if region and "column" in region else [])]
    dataset = pd.read_parquet(smk.input[0], columns=columns)
    clusters, hits, command = cluster_dataset(dataset, smk.params.settings, smk.threads, region)
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
            "settings": smk.params.settings,
            "region": region,
        },
        smk.output.info,
    )


run_step(step, snakemake)  # noqa: F821
