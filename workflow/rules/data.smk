localrules:
    download,


rule download:
    output:
        f"{config['download_cache']}/{{file}}",
    log:
        "results/logs/download/{file}.log",
    conda:
        "../../envs/probe.yaml"
    params:
        source=lambda wc: source_by_file(wc.file),
    script:
        "../../scripts/download.py"


rule dataset:
    input:
        table=lambda wc: list(map(source_path, dataset_sources(DATASETS[wc.dataset]))),
        join=lambda wc: (
            [source_path(DATASETS[wc.dataset]["join"]["source"])]
            if "join" in DATASETS[wc.dataset]
            else []
        ),
    output:
        table="results/data/{dataset}.parquet",
        info="results/data/{dataset}.json",
    log:
        "results/logs/data/{dataset}.log",
    conda:
        "../../envs/probe.yaml"
    resources:
        mem_mb=4000,
        runtime=15,
    params:
        entry=lambda wc: data_stage_entry(wc.dataset),
    script:
        "../../scripts/dataset.py"


localrules:
    gene_group_map,


rule gene_group_map:
    input:
        lambda wc: source_path(config["gene_group_maps"][wc.species]["source"]),
    output:
        "results/data/gene_groups/{species}.csv",
    log:
        "results/logs/data/gene_groups/{species}.log",
    conda:
        "../../envs/probe.yaml"
    params:
        entry=lambda wc: config["gene_group_maps"][wc.species],
    script:
        "../../scripts/gene_group_map.py"
