rule probe:
    input:
        dataset="results/data/{dataset}.parquet",
        embeddings="results/embeddings/{model}/{dataset}.npy",
        sidecar="results/embeddings/{model}/{dataset}.json",
        split="results/splits/{dataset}/{split}.parquet",
        audit="results/splits/{dataset}/{split}.audit.json",
    output:
        expand(
            "results/probes/{{dataset}}/{{model}}/{{split}}/seed{seed}.parquet",
            seed=SEEDS,
        ),
    log:
        "results/logs/probe/{dataset}/{model}/{split}.log",
    benchmark:
        "results/benchmarks/probe/{dataset}/{model}/{split}.tsv"
    group:
        "probe"
    conda:
        "../../envs/probe.yaml"
    threads: config["probe"]["threads"]
    resources:
        mem_mb=8000,
        runtime=60,
    params:
        targets=lambda wc: DATASETS[wc.dataset]["targets"],
        seeds=SEEDS,
        solver=config["probe"]["solver"],
    script:
        "../../scripts/probe.py"
