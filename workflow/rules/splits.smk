rule split:
    input:
        dataset="results/data/{dataset}.parquet",
        clusters="results/homology/{dataset}.clusters.tsv",
        hits="results/homology/{dataset}.hits.tsv",
        homology="results/homology/{dataset}.json",
        gene_groups=gene_group_input,
    output:
        split="results/splits/{dataset}/{split}.parquet",
        audit="results/splits/{dataset}/{split}.audit.json",
    log:
        "results/logs/splits/{dataset}/{split}.log",
    conda:
        "../../envs/probe.yaml"
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        seeds=SEEDS,
        options=lambda wc: {
            "fractions": config["split_fractions"],
            "kmer": config["kmer_split"],
            "elements": DATASETS[wc.dataset].get("compositional"),
            "given": DATASETS[wc.dataset].get("given_split"),
        },
        strict=config["strict_splits"],
        targets=lambda wc: DATASETS[wc.dataset]["targets"],
        settings=config["homology"],
    script:
        "../../scripts/split.py"
