rule random_model:
    output:
        directory("results/models/{model}"),
    log:
        "results/logs/models/{model}.log",
    conda:
        "../../envs/embed.yaml"
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        spec=lambda wc: MODELS[wc.model],
    script:
        "../../scripts/random_model.py"


rule embed:
    input:
        dataset="results/data/{dataset}.parquet",
        info="results/data/{dataset}.json",
        model=model_folder,
    output:
        embeddings="results/embeddings/{model}/{dataset}.npy",
        sidecar="results/embeddings/{model}/{dataset}.json",
    log:
        "results/logs/embed/{model}/{dataset}.log",
    benchmark:
        "results/benchmarks/embed/{model}/{dataset}.tsv"
    conda:
        "../../envs/embed.yaml"
    threads: 2
    resources:
        gpu=lambda wc: MODELS[wc.model]["gpus"],
        mem_mb=lambda wc: MODELS[wc.model]["mem_mb"],
        runtime=lambda wc: MODELS[wc.model]["runtime"],
    params:
        spec=lambda wc: MODELS[wc.model],
        model_cache=config["model_cache"],
    script:
        "../../scripts/embed.py"
