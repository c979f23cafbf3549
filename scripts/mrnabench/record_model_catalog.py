"""Record mRNABench's model catalog as facts: tests/fixtures/mrnabench/model_catalog.json.

Run with mRNABench's own environment (mrna-bench is AGPL: this script only imports it and
writes what it declares, no code of it is copied):

    /work/mbvenv/bin/python scripts/mrnabench/record_model_catalog.py

Per model family (MODEL_CATALOG key): the wrapper class, its module, and each model version
(MODEL_VERSION_MAP) with the short name mRNABench files its embeddings under. No weights are
loaded.
"""

import json
from importlib.metadata import version
from pathlib import Path

from mrna_bench.models.model_catalog import MODEL_CATALOG, MODEL_VERSION_MAP

OUT = Path(__file__).resolve().parents[2] / "tests/fixtures/mrnabench/model_catalog.json"


def main() -> None:
    families = {}
    for family, cls in sorted(MODEL_CATALOG.items()):
        versions = MODEL_VERSION_MAP[family]
        families[family] = {
            "class": cls.__name__,
            "module": cls.__module__,
            "versions": {v: cls.get_model_short_name(v) for v in versions},
        }
    record = {
        "mrna_bench": version("mrna-bench"),
        "n_families": len(families),
        "n_versions": sum(len(f["versions"]) for f in families.values()),
        "families": families,
    }
    OUT.write_text(json.dumps(record, indent=1) + "\n")
    print(f"{OUT}: {record['n_families']} families, {record['n_versions']} versions")


if __name__ == "__main__":
    main()
