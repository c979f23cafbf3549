import re

from mrnaprobe.data import (
    config_sources,
    dataset_sources,
    element_columns,
    resolve_source,
    source_file_name,
)

SEEDS = config["seeds"]
DATASETS = config["datasets"]
MODELS = config["models"]


wildcard_constraints:
    dataset="[A-Za-z0-9][A-Za-z0-9._-]*",
    model="[A-Za-z0-9][A-Za-z0-9._-]*",
    split="[a-z_]+",
    seed=r"\d+",


def dataset_splits(dataset):
    """Split types probed for a dataset."""
    return DATASETS[dataset].get("splits", config["splits"])


def gene_group_input(wc):
    """The gene-group map of the dataset's species, for the homologene split only."""
    if wc.split != "homologene":
        return []
    species = DATASETS[wc.dataset].get("species", "human")
    return f"results/data/gene_groups/{species}.csv"


def data_stage_entry(dataset):
    """The catalog fields the data stage reads (labels for figures do not trigger reruns).

    Of the compositional elements and the homology region only the columns they read reach
    it (carried along).
    """
    ignored = {"description", "task_family", "resolution", "splits", "compositional"}
    ignored |= {"species", "homology_region", "given_split"}
    entry = {k: v for k, v in DATASETS[dataset].items() if k not in ignored}
    columns = element_columns(DATASETS[dataset])
    region = DATASETS[dataset].get("homology_region") or {}
    given = DATASETS[dataset].get("given_split") or {}
    for column in (region.get("column"), given.get("column")):
        if column and column not in columns:
            columns.append(column)
    if columns:
        entry["carry_columns"] = columns
    return entry


def source_path(source):
    """Where Snakemake finds a source file (mirror, local path or download cache)."""
    return resolve_source(source, config["mirror"], config["download_cache"])


def probe_outputs():
    """Every per-seed probe table the config asks for."""
    return [
        f"results/probes/{dataset}/{model}/{split}/seed{seed}.parquet"
        for dataset in DATASETS
        for model in MODELS
        for split in dataset_splits(dataset)
        for seed in SEEDS
    ]


def source_by_file(file):
    """The config's source (dataset, join table or gene-group map) downloaded as this file."""
    for _, source in config_sources(config):
        if source_file_name(source) == file:
            return source
    raise ValueError(f"no catalog source is named {file!r}")


def audit_outputs():
    """The leakage audit of every dataset x split type in the config."""
    return [
        f"results/splits/{dataset}/{split}.audit.json"
        for dataset in DATASETS
        for split in dataset_splits(dataset)
    ]


def one_of(names):
    """A wildcard regex matching exactly these names (nothing when there are none)."""
    return "|".join(map(re.escape, names)) or "(?!)"


# ------------------------------------------------------------------ report stage


def figure(name, category):
    """A figure's PNG (in the HTML report, with its caption workflow/report/<name>.rst) and
    its PDF twin, as named outputs `<name>` and `<name>_pdf`."""
    return {
        name: report(
            f"results/figures/{name}.png",
            caption=f"../report/{name}.rst",
            category=category,
        ),
        f"{name}_pdf": f"results/figures/{name}.pdf",
    }


def table(path, caption, category):
    """A table in the HTML report, with its caption workflow/report/<caption>.rst."""
    return report(path, caption=f"../report/{caption}.rst", category=category)


def sidecar_outputs():
    """The embedding sidecar of every model x dataset (parameter counts as loaded)."""
    return [
        f"results/embeddings/{model}/{dataset}.json"
        for model in MODELS
        for dataset in DATASETS
    ]
