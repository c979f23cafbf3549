"""Bringing your own data: the dataset's own split (`given`), splits that cannot be made
recorded as n/a cells instead of stopping the run, and a small run with both."""

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import yaml

from mrnaprobe import MrnaProbeError
from mrnaprobe.data import read_fasta
from mrnaprobe.probe import probe_seed
from mrnaprobe.report import GIVEN_NOTE, summarise
from mrnaprobe.splits import audit, make_split, split_status
from tests.conftest import ROOT

FRACTIONS = {"fractions": [0.7, 0.15, 0.15]}
SETTINGS = {"min_seq_id": 0.8, "coverage": 0.8, "cov_mode": 0}


@pytest.fixture(scope="module")
def elavl1(mirror):
    """The real ELAVL1 windows of chr1, chr6 and chr17 (3,068 rows), with their labels."""
    frame = read_fasta(mirror / "ideeps_rbp31_10_PARCLIP_ELAVL1A_hg19_test.fa.gz")
    frame["chromosome"] = frame["header"].str.extract(r"^(chr[0-9XY]+),", expand=False)
    frame = frame[frame["chromosome"].isin(["chr1", "chr6", "chr17"])].reset_index(drop=True)
    frame["bound"] = frame["header"].str.endswith("class:1").astype(float)
    return frame.assign(id=frame["header"].str.split(";").str[0])


GIVEN = {"column": "chromosome", "map": {"chr1": "train", "chr6": "val", "chr17": "test"}}


def test_given_split_reads_the_datasets_folds_the_same_for_every_seed(elavl1):
    split = make_split("given", elavl1, None, [1, 2, 3], FRACTIONS | {"given": GIVEN})
    folds = split.pivot(index="id", columns="seed", values="fold")
    assert (folds[1] == folds[2]).all() and (folds[1] == folds[3]).all()
    expected = elavl1.set_index("id")["chromosome"].map(GIVEN["map"])
    assert (folds[1] == expected.reindex(folds.index)).all()
    assert split.groupby("fold").size().to_dict() == {"test": 3 * 932, "train": 3 * 1118,
                                                      "val": 3 * 1018}  # fmt: skip
    report = audit(split, pd.DataFrame(columns=["query", "target", "fident"]), SETTINGS, "x")
    assert set(report["seeds"]) == {"1", "2", "3"}


def test_given_split_leaves_rows_with_unmapped_values_out(elavl1, caplog):
    given = {"column": "chromosome", "map": {"chr1": "train", "chr6": "val", "chr17": "test"}}
    given["map"].pop("chr6")
    given["map"]["chr1"] = "val"
    subset = elavl1.assign(chromosome=np.where(np.arange(len(elavl1)) % 3 == 0, "chr6",
                                               elavl1["chromosome"]))  # fmt: skip
    subset.loc[subset["chromosome"] == "chr17", "chromosome"] = "chr1"
    with caplog.at_level("INFO"), pytest.raises(MrnaProbeError, match="fold 'train' is empty"):
        make_split("given", subset, None, [1], FRACTIONS | {"given": given})
    assert "rows left out, value not in the map: chr6=" in caplog.text


@pytest.mark.bad_input
def test_bad_input_given_split_without_its_column(elavl1):
    with pytest.raises(MrnaProbeError, match=r"split 'given' needs the dataset's given_split "
                       r"column \('fold'\)"):  # fmt: skip
        make_split(
            "given",
            elavl1,
            None,
            [1],
            FRACTIONS | {"given": {"column": "fold", "map": {"a": "train"}}},
        )


def test_impossible_split_is_recorded_per_seed_not_raised(elavl1):
    """Windows of one chromosome and a few of another: mRNABench's chromosome split holds
    out the small one, which cannot then be split into val and test."""
    rows = elavl1[elavl1["chromosome"] == "chr1"].head(300)
    rows = pd.concat([rows, elavl1[elavl1["chromosome"] == "chr6"].head(20)], ignore_index=True)
    with pytest.raises(MrnaProbeError, match="split 'chromosome': 20 rows on fewer than 2"):
        make_split("chromosome", rows, None, [1, 2], FRACTIONS)  # strict: today's stop
    failed = []
    split = make_split("chromosome", rows, None, [1, 2], FRACTIONS, not_computable=failed)
    assert split.empty and [f["seed"] for f in failed] == [1, 2]
    assert all(f["target"] is None and "fewer than 2" in f["reason"] for f in failed)
    assert split_status(failed, 2) == "not computable" and split_status([], 2) == "ok"
    assert split_status(failed[:1], 2) == "partial"
    report = audit(split, pd.DataFrame(columns=["query", "target", "fident"]), SETTINGS, "x")
    assert report["seeds"] == {} and report["test_violations_max"] is None


def test_probe_writes_n_a_rows_with_the_reason_and_the_summary_marks_them(elavl1):
    rows = elavl1.head(400).reset_index(drop=True)
    X = np.random.default_rng(0).normal(size=(len(rows), 8))
    split = make_split("random", rows, None, [1], FRACTIONS)
    targets = {"bound": {"task": "binary"}}
    failed = [{"seed": 2, "target": None, "reason": "split seed 2: fold 'test' is empty"}]
    done = probe_seed(rows, X, split, targets, 1, not_computable=failed)
    missing = probe_seed(rows, X, split, targets, 2, not_computable=failed)
    assert (done["status"] == "").all() and done["value"].notna().all()
    assert missing["value"].isna().all() and (missing["status"] == failed[0]["reason"]).all()
    assert set(missing["metric"]) == {"auroc", "auprc"}
    both = pd.concat([done, missing]).assign(dataset="d", model="m", split="random")
    summary = summarise(both)
    test = summary[(summary["fold"] == "test") & (summary["metric"] == "auprc")].iloc[0]
    assert test["n_seeds"] == 1 and test["note"].startswith("n/a in 1 of 2 seeds: split seed 2")
    only = summarise(missing.assign(dataset="d", model="m", split="random"))
    assert only["mean"].isna().all() and only["note"].str.startswith("n/a: ").all()


def test_given_split_summary_states_seeds_vary_nothing(elavl1):
    rows = elavl1.head(600).reset_index(drop=True)
    X = np.random.default_rng(0).normal(size=(len(rows), 8))
    given = {"column": "chromosome", "map": {"chr1": "train", "chr6": "val", "chr17": "test"}}
    rows = rows.assign(chromosome=np.array(["chr1", "chr1", "chr6", "chr17"])[np.arange(600) % 4])
    split = make_split("given", rows, None, [1, 2], FRACTIONS | {"given": given})
    tables = [probe_seed(rows, X, split, {"bound": {"task": "binary"}}, seed) for seed in (1, 2)]
    metrics = pd.concat(tables).assign(dataset="d", model="m", split="given")
    summary = summarise(metrics)
    assert summary["ci95"].isna().all() and (summary["note"] == GIVEN_NOTE).all()
    assert (summary["n_seeds"] == 2).all()


@pytest.mark.slow
def test_run_with_an_impossible_split_finishes_and_marks_the_cell(mirror, tmp_path):
    """ELAVL1 windows as one FASTA per class; splits random, given (by chromosome) and a
    compositional split whose test fold (windows starting with A and with C) is empty."""
    frame = read_fasta(mirror / "ideeps_rbp31_10_PARCLIP_ELAVL1A_hg19_test.fa.gz")
    frame = frame[frame["header"].str.match(r"chr(1|6|17),")]
    for label in ("1", "0"):
        part = frame[frame["header"].str.endswith(f"class:{label}")]
        part = part.groupby(part["header"].str.split(",").str[0]).head(100)
        records = zip(part["header"].str.split(";").str[0], part["sequence"], strict=True)
        (tmp_path / f"class{label}.fa").write_text("".join(f">{h}\n{s}\n" for h, s in records))
    config = {
        "seeds": [2541, 413],
        "splits": ["random"],
        "homology": {"threads": 1},
        "probe": {"threads": 1},
        "datasets": {"elavl1-by-class": {
            "sources": [{"path": str(tmp_path / "class1.fa"), "set": {"bound": 1}},
                        {"path": str(tmp_path / "class0.fa"), "set": {"bound": 0}}],
            "format": "fasta",
            "header_fields": {"chromosome": "^(?P<value>[^,]+),"},
            "columns": {"id": "header", "chromosome": "chromosome"},
            "splits": ["random", "given", "compositional"],
            "canonical_split": "compositional",
            "given_split": {"column": "chromosome",
                            "map": {"chr1": "train", "chr6": "val", "chr17": "test"}},
            "compositional": {"a": {"positive": "^A", "negative": "^[CGT]"},
                              "c": {"positive": "^C", "negative": "^[AGT]"}},
            "targets": {"bound": {"task": "binary"}},
        }},
        "models": {"kmer-naive": {"kind": "kmer", "k": [3, 4]}},
    }  # fmt: skip
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    done = subprocess.run(
        [sys.executable, "-m", "snakemake", "--snakefile", str(ROOT / "Snakefile"),
         "--directory", str(tmp_path), "--configfile", str(tmp_path / "config.yaml"),
         "--cores", "2"], cwd=tmp_path, capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    results = tmp_path / "results"
    audit_file = results / "splits" / "elavl1-by-class" / "compositional.audit.json"
    report = json.loads(audit_file.read_text())
    assert report["status"] == "not computable" and len(report["not_computable"]) == 2
    assert "fold 'test' is empty" in report["not_computable"][0]["reason"]
    summary = pd.read_csv(results / "tables" / "summary.csv")
    composite = summary[summary["split"] == "compositional"]
    assert composite["mean"].isna().all() and composite["note"].str.startswith("n/a: ").all()
    given = summary[summary["split"] == "given"]
    assert given["mean"].notna().all() and given["ci95"].isna().all()
    assert (given["note"] == GIVEN_NOTE).all()
    assert summary.loc[summary["split"] == "random", "mean"].notna().all()
    leakage = pd.read_csv(results / "tables" / "leakage.csv").fillna({"status": ""})
    composite = leakage[leakage["split"] == "compositional"]
    assert len(composite) == 2 and composite["status"].str.startswith("n/a: split seed").all()
    assert (leakage.loc[leakage["split"] != "compositional", "status"] == "").all()
    leaderboard = (results / "tables" / "leaderboard.md").read_text()
    assert "| n/a |" in leaderboard and "fold 'test' is empty" in leaderboard


def byod_config(tmp_path, **entry):
    (tmp_path / "a.fa").write_text(">a\nACGT\n")
    (tmp_path / "b.fa").write_text(">b\nACGA\n")
    base = {"format": "fasta", "columns": {"id": "header"},
            "targets": {"nucleus": {"task": "binary"}}}  # fmt: skip
    return {"datasets": {"x": base | entry}, "models": {"k": {"kind": "kmer", "k": [3, 4]}}}


def test_config_accepts_sources_and_a_given_split(tmp_path):
    from mrnaprobe.config import check_config

    sources = [{"path": str(tmp_path / "a.fa"), "set": {"nucleus": 1}},
               {"path": str(tmp_path / "b.fa"), "set": {"nucleus": 0}}]  # fmt: skip
    given = {"column": "fold", "map": {"train": "train", "dev": "val", "test": "test"}}
    config = byod_config(tmp_path, sources=sources, given_split=given, splits=["given"])
    check_config(config, ROOT / "workflow" / "schemas" / "config.schema.yaml")
    assert config["strict_splits"] is False


@pytest.mark.bad_input
@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"splits": ["given"], "source": {"path": "A"}},
         "config key datasets.x.given_split: the given split needs the column"),
        ({"sources": [{"path": "A", "set": {"nucleus": 1}}, {"path": "absent.fa"}]},
         "config key datasets.x.sources.1: source 'absent.fa': not in the mirror"),
        ({"source": {"path": "A"}, "sources": [{"path": "A"}]}, "config key datasets.x: "),
        ({"source": {"path": "A"}, "given_split": {"column": "f", "map": {"a": "holdout"}}},
         "config key datasets.x.given_split.map.a: 'holdout' is not one of"),
    ],
)  # fmt: skip
def test_bad_input_sources_and_given_split_config(tmp_path, entry, message):
    from mrnaprobe.config import check_config

    entry = json.loads(json.dumps(entry).replace('"A"', json.dumps(str(tmp_path / "a.fa"))))
    with pytest.raises(MrnaProbeError, match=message):
        check_config(byod_config(tmp_path, **entry), ROOT / "workflow/schemas/config.schema.yaml")
