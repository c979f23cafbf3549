rule random_model:
    output:
        directory("results/models/{model}"),
    params:
        spec=lambda wc: MODELS[wc.model],
    log:
        "results/logs/models/{model}.log",
    resources:
        mem_mb=2000,
        runtime=10,
    conda:
        "../../envs/embed.yaml"
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
    params:
        spec=lambda wc: MODELS[wc.model],
        model_cache=config["model_cache"],
    log:
        "results/logs/embed/{model}/{dataset}.log",
    benchmark:
        "results/benchmarks/embed/{model}/{dataset}.tsv"
    threads: 2
    resources:
        gpu=lambda wc: MODELS[wc.model]["gpus"],
        mem_mb=lambda wc: MODELS[wc.model]["mem_mb"],
        runtime=lambda wc: MODELS[wc.model]["runtime"],
    conda:
        "../../envs/embed.yaml"
    script:
        "../../scripts/embed.py"
