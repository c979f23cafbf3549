rule homology:
    input:
        "results/data/{dataset}.parquet",
    output:
        clusters="results/homology/{dataset}.clusters.tsv",
        hits="results/homology/{dataset}.hits.tsv",
        info="results/homology/{dataset}.json",
    params:
        settings=config["homology"],
    log:
        "results/logs/homology/{dataset}.log",
    benchmark:
        "results/benchmarks/homology/{dataset}.tsv"
    threads: config["homology"]["threads"]
    resources:
        mem_mb=4000,
        runtime=60,
    conda:
        "../../envs/mmseqs.yaml"
    script:
        "../../scripts/homology.py"
