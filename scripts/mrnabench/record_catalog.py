"""Record mRNABench's dataset catalog as facts: tests/fixtures/mrnabench/dataset_info.json.

Run with mRNABench's own environment (mrna-bench is AGPL: this script only runs it and
writes what it declares, no code of it is copied):

    /work/mbvenv/bin/python scripts/mrnabench/record_catalog.py

Per dataset: targets (column name -> mRNABench's task), its canonical split type,
species, the processed-file URL (`hf_url`) and the raw-source URLs its module declares.
The dataset classes are constructed with their download step replaced by a recorder, so
nothing is fetched.
"""

import inspect
import json
import sys
from importlib.metadata import version
from pathlib import Path

from mrna_bench.data_splitter.homology_split import HomologySplitter
from mrna_bench.datasets import DATASET_CATALOG, DATASET_INFO, BenchmarkDataset

OUT = Path(__file__).resolve().parents[2] / "tests/fixtures/mrnabench/dataset_info.json"


def declared(cls) -> dict:
    """The arguments a dataset class passes to BenchmarkDataset.__init__ (no download)."""
    seen = {}
    signature = inspect.signature(BenchmarkDataset.__init__)
    original = BenchmarkDataset.__init__

    def record(self, *args, **kwargs):
        bound = signature.bind(self, *args, **kwargs)
        bound.apply_defaults()
        seen.update({k: v for k, v in bound.arguments.items() if k != "self"})

    BenchmarkDataset.__init__ = record
    try:
        cls()
    finally:
        BenchmarkDataset.__init__ = original
    return seen


def raw_urls(cls) -> list[str]:
    """String constants named *_URL in the dataset's module (its raw sources)."""
    module = sys.modules[cls.__module__]
    return sorted(
        value for name, value in vars(module).items()
        if name.endswith("_URL") and isinstance(value, str)
    )  # fmt: skip


def main() -> None:
    datasets = {}
    for name, info in DATASET_INFO.items():
        cls = DATASET_CATALOG[name]
        args = declared(cls)
        assert args["dataset_name"] == name == info["dataset"], name
        datasets[name] = {
            "targets": dict(zip(info["target_col"], info["task"], strict=True)),
            "split_type": info["split_type"],
            "species": args["species"],
            "hf_url": args["hf_url"],
            "raw_urls": raw_urls(cls),
            "class": cls.__name__,
        }
    record = {
        "mrna_bench": version("mrna-bench"),
        "source": "mrna_bench.datasets: DATASET_INFO, DATASET_CATALOG classes",
        "homology_map_url": HomologySplitter.HOMO_URL,
        "n_datasets": len(datasets),
        "n_tasks": sum(len(d["targets"]) for d in datasets.values()),
        "datasets": datasets,
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(record, indent=1) + "\n")
    print(f"{OUT}: {record['n_datasets']} datasets, {record['n_tasks']} tasks")


if __name__ == "__main__":
    main()
