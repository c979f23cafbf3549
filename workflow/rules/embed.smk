from pathlib import Path

from mrnaprobe.models import (
    build_spec,
    needs_model_folder,
    resolve_models,
    run_spec,
    shard_count,
)
from mrnaprobe.lock import apply_lock
from mrnaprobe.tracks import check_model_tracks

# Full model specs: config `models:` (names or entries) resolved against the catalog. Plain
# Python: nothing is imported from torch/transformers and no model is loaded here.
MODEL_SPECS = resolve_models(
    config["models"],
    config.get("model_catalog") or Path(workflow.basedir) / "config" / "models.yaml",
    workflow.source_path("../schemas/config.schema.yaml"),
)
# A lock file (`mrnaprobe models lock`) pins every hub model to the commit it names.
if config.get("model_lock"):
    try:
        MODEL_SPECS = apply_lock(MODEL_SPECS, config["model_lock"])
    except MrnaProbeError as err:
        sys.exit(f"mrnaprobe: error: {err}")
# A model that reads the CDS or splice track (Orthrus 6-track, the 6-track naive baseline, a
# CDS or UTR input region) needs every dataset to name it in `columns:`: one line now, not
# a failed job later.
try:
    check_model_tracks(MODEL_SPECS, DATASETS)
except MrnaProbeError as err:
    sys.exit(f"mrnaprobe: error: {err}")
# Shards per model x dataset; 1 means one `embed` job, N > 1 means N `embed_shard` jobs
# (each its own output, so a rerun redoes only missing shards) joined by `merge_shards`, a
# CPU job. merge_shards is constrained to the sharded models and datasets (wildcards cannot
# be constrained as pairs): a pair of those two lists with 1 shard is embedded as shard
# 0-of-1 and merged, which gives the same bytes.
EMBED_SHARDS = {
    (model, dataset): shard_count(spec, dataset, DATASETS[dataset])
    for model, spec in MODEL_SPECS.items()
    for dataset in DATASETS
}
SHARDED = [pair for pair, shards in EMBED_SHARDS.items() if shards > 1]
# Models that ask for no GPU (k-mer, composition, CPU-only encoders) run as `embed_cpu` /
# `embed_shard_cpu`: same jobs, other rule names, so a SLURM profile sends only the GPU ones
# to the GPU partition.
CPU_MODELS = [model for model, spec in MODEL_SPECS.items() if not spec["gpus"]]
GPU_MODELS = [model for model in MODEL_SPECS if model not in CPU_MODELS]


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
        spec=lambda wc: build_spec(MODEL_SPECS[wc.model]),
    script:
        "../../scripts/random_model.py"


rule embed_shard:
    input:
        dataset="results/data/{dataset}.parquet",
        model=lambda wc: (
            f"results/models/{wc.model}"
            if needs_model_folder(MODEL_SPECS[wc.model])
            else []
        ),
    output:
        "results/embeddings/{model}/shards/{dataset}/{shard}-of-{shards}.npz",
    log:
        "results/logs/embed/{model}/{dataset}.shard{shard}-of-{shards}.log",
    benchmark:
        "results/benchmarks/embed/{model}/{dataset}.shard{shard}-of-{shards}.tsv"
    wildcard_constraints:
        model=one_of(GPU_MODELS),
        shard=r"\d+",
        shards=r"\d+",
    conda:
        "../../envs/embed.yaml"
    threads: 2
    resources:
        gpu=lambda wc: MODEL_SPECS[wc.model]["gpus"],
        mem_mb=lambda wc: MODEL_SPECS[wc.model]["mem_mb"],
        runtime=lambda wc: MODEL_SPECS[wc.model]["runtime"],
    params:
        spec=lambda wc: run_spec(MODEL_SPECS[wc.model]),
        model_cache=config["model_cache"],
    script:
        "../../scripts/embed.py"


rule embed:
    input:
        dataset="results/data/{dataset}.parquet",
        info="results/data/{dataset}.json",
        model=lambda wc: (
            f"results/models/{wc.model}"
            if needs_model_folder(MODEL_SPECS[wc.model])
            else []
        ),
    output:
        embeddings="results/embeddings/{model}/{dataset}.npy",
        sidecar="results/embeddings/{model}/{dataset}.json",
    log:
        "results/logs/embed/{model}/{dataset}.log",
    benchmark:
        "results/benchmarks/embed/{model}/{dataset}.tsv"
    wildcard_constraints:
        model=one_of(GPU_MODELS),
    conda:
        "../../envs/embed.yaml"
    threads: 2
    resources:
        gpu=lambda wc: MODEL_SPECS[wc.model]["gpus"],
        mem_mb=lambda wc: MODEL_SPECS[wc.model]["mem_mb"],
        runtime=lambda wc: MODEL_SPECS[wc.model]["runtime"],
    params:
        spec=lambda wc: run_spec(MODEL_SPECS[wc.model]),
        model_cache=config["model_cache"],
    script:
        "../../scripts/embed.py"


rule merge_shards:
    input:
        dataset="results/data/{dataset}.parquet",
        info="results/data/{dataset}.json",
        shards=lambda wc: [
            f"results/embeddings/{wc.model}/shards/{wc.dataset}/{shard}-of-{shards}.npz"
            for shards in [EMBED_SHARDS[wc.model, wc.dataset]]
            for shard in range(shards)
        ],
    output:
        embeddings="results/embeddings/{model}/{dataset}.npy",
        sidecar="results/embeddings/{model}/{dataset}.json",
    log:
        "results/logs/embed/{model}/{dataset}.merge.log",
    wildcard_constraints:
        model=one_of(sorted({model for model, _ in SHARDED})),
        dataset=one_of(sorted({dataset for _, dataset in SHARDED})),
    conda:
        "../../envs/embed.yaml"
    resources:
        mem_mb=lambda wc: MODEL_SPECS[wc.model]["mem_mb"],
        runtime=30,
    params:
        spec=lambda wc: run_spec(MODEL_SPECS[wc.model]),
        model_cache=config["model_cache"],
    script:
        "../../scripts/embed.py"


ruleorder: merge_shards > embed > embed_cpu


use rule embed_shard as embed_shard_cpu with:
    wildcard_constraints:
        model=one_of(CPU_MODELS),
        shard=r"\d+",
        shards=r"\d+",


use rule embed as embed_cpu with:
    wildcard_constraints:
        model=one_of(CPU_MODELS),
