rule homology:
    input:
        "results/data/{dataset}.parquet",
    output:
        clusters="results/homology/{dataset}.clusters.tsv",
        hits="results/homology/{dataset}.hits.tsv",
        info="results/homology/{dataset}.json",
    log:
        "results/logs/homology/{dataset}.log",
    benchmark:
        "results/benchmarks/homology/{dataset}.tsv"
    conda:
        "../../envs/mmseqs.yaml"
    threads: config["homology"]["threads"]
    resources:
        mem_mb=4000,
        runtime=60,
    params:
        settings=config["homology"],
        region=lambda wc: DATASETS[wc.dataset].get("homology_region"),
    script:
        "../../scripts/homology.py"
