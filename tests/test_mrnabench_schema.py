"""mRNABench's parquet schema: multilabel targets as one column of 0/1 arrays.

The fixtures rewrite real mirror tables in the layout of mrna-bench's processed files
(`sequence`, `gene`, `cds`, `splice`, target columns; a multilabel target is ONE column whose
cells are arrays) and read them through `build_dataset` and the workflow's data stage.
"""

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import yaml

from mrnaprobe import MrnaProbeError
from mrnaprobe.config import check_config
from mrnaprobe.data import build_dataset, target_frame
from tests.conftest import ROOT

LABELS = ["Nucleus", "Exosome", "Cytosol", "Cytoplasm", "Ribosome", "Membrane", "ER"]
SCHEMA = ROOT / "workflow" / "schemas" / "config.schema.yaml"


def tracks(sequence: str) -> tuple[np.ndarray, np.ndarray]:
    """Placeholder cds and splice tracks (mRNABench stores one int8 per nucleotide)."""
    return np.zeros(len(sequence), dtype=np.int8), np.zeros(len(sequence), dtype=np.int8)


@pytest.fixture(scope="module")
def dm3loc(mirror) -> pd.DataFrame:
    return pd.read_csv(mirror / "dm3loc_subset_seed0_len_le3000.csv")


@pytest.fixture(scope="module")
def mrnabench_files(mirror, dm3loc, tmp_path_factory):
    """The dm3loc subset and the Leppek constructs as mrna-bench parquet files."""
    folder = tmp_path_factory.mktemp("mrnabench")
    cds, splice = zip(*(tracks(s) for s in dm3loc["sequence"]), strict=True)
    loc = pd.DataFrame(
        {
            "sequence": dm3loc["sequence"],
            "gene": dm3loc["gene_name"],
            "cds": list(cds),
            "splice": list(splice),
            "localization": list(dm3loc[LABELS].to_numpy(dtype=np.int8)),
        }
    )
    loc.to_parquet(folder / "loc-mrnabench.parquet", index=False)
    leppek = pd.read_csv(mirror / "leppek2022_persist_constructs.tsv", sep="\t")
    reg = pd.DataFrame(
        {
            "sequence": leppek["RNA.sequence"],
            "target_ribosome_load": leppek["ribosome_load"],
            "target_in_cell_half_life": leppek["half_life_in_cell"],
        }
    )
    reg.to_parquet(folder / "mrl-hl-mrnabench.parquet", index=False)
    return folder


def loc_entry(**target) -> dict:
    return {
        "source": {"path": "loc-mrnabench.parquet"},
        "format": "parquet",
        "columns": {"sequence": "sequence", "gene": "gene"},
        "targets": {"localization": {"task": "multilabel", **target}},
    }


def reg_entry() -> dict:
    return {
        "source": {"path": "mrl-hl-mrnabench.parquet"},
        "format": "parquet",
        "columns": {"sequence": "sequence"},
        "targets": {
            "ribosome_load": {"task": "regression", "column": "target_ribosome_load"},
            "half_life_in_cell": {"task": "regression", "column": "target_in_cell_half_life"},
        },
    }


def test_label_arrays_are_expanded_into_named_label_columns(mrnabench_files, dm3loc):
    path = mrnabench_files / "loc-mrnabench.parquet"
    table = build_dataset("loc", loc_entry(labels=LABELS), path)
    assert list(table.columns) == ["id", "sequence", "gene"] + [f"localization:{x}" for x in LABELS]
    assert np.array_equal(table[[f"localization:{x}" for x in LABELS]], dm3loc[LABELS])
    present, Y = target_frame(table, "localization", {"task": "multilabel", "labels": LABELS})
    assert Y.shape == (901, 7) and len(present) == 901


def test_label_arrays_match_the_same_labels_read_from_columns(mirror, mrnabench_files):
    arrays = build_dataset("loc", loc_entry(), mrnabench_files / "loc-mrnabench.parquet")
    columns = build_dataset(
        "loc",
        {
            "source": {"path": "dm3loc_subset_seed0_len_le3000.csv"},
            "format": "csv",
            "columns": {"sequence": "sequence", "gene": "gene_name"},
            "targets": {"localization": {"task": "multilabel", "columns": LABELS}},
        },
        mirror / "dm3loc_subset_seed0_len_le3000.csv",
    )
    _, from_arrays = target_frame(arrays, "localization", {"task": "multilabel"})
    _, from_columns = target_frame(
        columns, "localization", {"task": "multilabel", "columns": LABELS}
    )
    assert np.array_equal(from_arrays, from_columns)
    assert list(arrays.columns[-7:]) == [f"localization:{i}" for i in range(7)]


def test_label_count_is_checked_against_the_catalog(mrnabench_files):
    with pytest.raises(MrnaProbeError, match="holds 7 labels per row.*expects 6"):
        build_dataset("loc", loc_entry(labels=6), mrnabench_files / "loc-mrnabench.parquet")


def test_ragged_missing_and_non_binary_label_arrays(tmp_path):
    def build(cells, **target):
        path = tmp_path / "bad.parquet"
        frame = pd.DataFrame({"sequence": ["ACGT", "GGCA", "TTAC"], "target": cells})
        frame.to_parquet(path)
        entry = {
            "source": {"path": "bad.parquet"},
            "format": "parquet",
            "targets": {"go": {"task": "multilabel", "column": "target", **target}},
        }
        return build_dataset("bad", entry, path)

    with pytest.raises(
        MrnaProbeError, match="row 3: multilabel column 'target' has 2 labels, row 1 has 3"
    ):
        build([[0, 1, 0], [1, 0, 1], [1, 0]])
    with pytest.raises(MrnaProbeError, match="value 2 is not 0 or 1"):
        build([[0, 1, 0], [1, 0, 2], [1, 0, 0]])
    table = build([[0, 1, 0], None, [1, 0, 1]])  # a missing cell: every label missing
    present, Y = target_frame(table, "go", {"task": "multilabel", "column": "target"})
    assert list(present) == [0, 2] and Y.shape == (2, 3)


def test_regression_targets_read_from_mrnabench_columns(mrnabench_files):
    table = build_dataset("mrl-hl", reg_entry(), mrnabench_files / "mrl-hl-mrnabench.parquet")
    assert len(table) == 233 and table["target_in_cell_half_life"].isna().sum() == 30
    assert table["id"].str.startswith("mrl-hl:").all()
    assert not table["sequence"].str.contains("U").any()


def test_schema_accepts_label_arrays_and_rejects_mixed_forms(mrnabench_files):
    def config(target):
        return {
            "mirror": str(mrnabench_files),
            "datasets": {"loc": loc_entry(**target)},
            "models": {"kmer-naive": {"kind": "kmer"}},
        }

    check_config(config({"column": "localization", "labels": LABELS}), SCHEMA)
    check_config(config({"labels": 7}), SCHEMA)
    with pytest.raises(MrnaProbeError, match="datasets.loc.targets.localization"):
        check_config(config({"column": "localization", "columns": LABELS}), SCHEMA)
    bad = config({})
    bad["datasets"]["loc"]["targets"]["localization"] = {"task": "regression", "labels": 7}
    with pytest.raises(MrnaProbeError, match="datasets.loc.targets.localization"):
        check_config(bad, SCHEMA)


def test_paper_config_is_valid_and_covers_the_mrnabench_catalog():
    config = yaml.safe_load((ROOT / "config" / "paper.yaml").read_text())
    config["mirror"] = None  # every paper source is a url: nothing needs to exist here
    check_config(config, SCHEMA)
    datasets = config["datasets"]
    assert len(datasets) == 21
    for cell in ("k562", "hepg2"):
        targets = datasets[f"eclip-binding-{cell}"]["targets"]
        assert len(targets) == 20 and {t["task"] for t in targets.values()} == {"binary"}
    for name in ("go-bp", "go-cc", "go-mf", "prot-loc", "rna-lifecycle-ietswaart"):
        assert datasets[name]["targets"] == {"target": {"task": "multilabel"}}
    for name, entry in datasets.items():
        columns, splits = entry["columns"], set(entry.get("splits", config["splits"]))
        assert ("gene" in splits) == ("gene" in columns), name
        assert ("chromosome" in splits) == ("chromosome" in columns), name
        assert entry["source"]["url"].startswith("https://huggingface.co/datasets/morrislab/")


@pytest.mark.slow
def test_data_stage_reads_the_mrnabench_schema(mrnabench_files, tmp_path):
    config = {
        "mirror": str(mrnabench_files),
        "seeds": [1],
        "datasets": {"loc-mb": loc_entry(labels=LABELS), "mrl-hl-mb": reg_entry()},
        "models": {"kmer-naive": {"kind": "kmer", "k": [3, 4]}},
    }
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    outputs = ["results/data/loc-mb.parquet", "results/data/mrl-hl-mb.parquet"]
    done = subprocess.run(
        [sys.executable, "-m", "snakemake", "--snakefile", str(ROOT / "Snakefile"),
         "--directory", str(tmp_path), "--configfile", str(tmp_path / "config.yaml"),
         "--cores", "1", *outputs],
        cwd=tmp_path, capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    loc = pd.read_parquet(tmp_path / outputs[0])
    assert loc.shape == (901, 3 + 7) and loc["localization:ER"].isin([0, 1]).all()
    assert len(pd.read_parquet(tmp_path / outputs[1])) == 233
    log = (tmp_path / "results/logs/data/loc-mb.log").read_text()
    assert "expanded into 7 labels" in log


def test_global_local_and_dna_rna_figures_from_catalog_tags(tmp_path):
    from mrnaprobe.report import dna_vs_rna, global_vs_local

    config = yaml.safe_load((ROOT / "config" / "paper.yaml").read_text())
    datasets = config["datasets"]
    families = {
        "kmer-naive": "baseline",
        "rna-fm": "rna-fm",
        "orthrus": "orthrus",
        "nt": "nucleotide-transformer",
    }
    models = {name: {"family": family} for name, family in families.items()}
    rng = np.random.default_rng(0)
    summary = pd.DataFrame(
        [
            (dataset, "target", task, model, split, "test", metric, rng.uniform(), 0.01, 10)
            for dataset, task, metric in [
                ("rnahl-human", "regression", "pearson"),
                ("eclip-binding-k562", "binary", "auprc"),
                ("go-bp", "multilabel", "auprc"),
            ]
            for model in models
            for split in ("random", "homology")
        ],
        columns=[
            "dataset",
            "target",
            "task",
            "model",
            "split",
            "fold",
            "metric",
            "mean",
            "ci95",
            "n_seeds",
        ],
    )
    d = global_vs_local(summary, models, datasets, tmp_path / "global_local")
    assert set(d["resolution"]) == {"transcript", "nucleotide"}
    assert set(d["objective"]) == {"baseline", "masked-LM", "contrastive"}
    assert d["n"].sum() == 3 * 4  # random split only: 3 tasks x 4 models
    f = dna_vs_rna(summary, models, datasets, tmp_path / "dna_rna")
    assert set(f["task_family"]) == {"half-life", "binding", "function"}
    assert set(f["molecule"]) == {"none", "DNA", "RNA"}
    for stem in ("global_local", "dna_rna"):
        assert (tmp_path / f"{stem}.png").stat().st_size > 0
        assert (tmp_path / f"{stem}.pdf").read_bytes().startswith(b"%PDF")
