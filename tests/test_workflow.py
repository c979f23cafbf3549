"""The Snakemake workflow: dry-run of the default config, lint, and one real end-to-end run."""

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from mrnaprobe.linear import native_bfloat16
from tests.conftest import MIRROR, ROOT

SNAKEMAKE = [sys.executable, "-m", "snakemake", "--snakefile", str(ROOT / "Snakefile")]


def snakemake(*args, cwd=ROOT):
    return subprocess.run([*SNAKEMAKE, *args], cwd=cwd, capture_output=True, text=True)


def test_default_config_dry_run_plans_every_stage(mirror):
    done = snakemake("-n", "--config", f"mirror={mirror}")
    assert done.returncode == 0, done.stderr[-2000:]
    plan = done.stdout
    for rule, count in {
        "dataset": 7,
        "homology": 7,
        "embed": 7,
        "embed_cpu": 7,
        "probe": 38,
        "split": 19,
        "gene_group_map": 1,
        "report": 1,
    }.items():
        assert any(line.split() == [rule, str(count)] for line in plan.splitlines()), rule


def test_lint_is_clean():
    done = snakemake("--lint", "--config", f"mirror={MIRROR}")
    assert done.returncode == 0 and "Congratulations" in done.stdout + done.stderr, done.stdout[
        -3000:
    ]


@pytest.mark.bad_input
def test_bad_input_unknown_config_key_is_rejected(tmp_path):
    done = snakemake("-n", "--config", "seeds=[1]", "colour=blue", cwd=ROOT)
    assert done.returncode != 0 and "colour" in done.stderr


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("run")
    config = ROOT / "tests" / "configs" / "small.yaml"
    done = snakemake("--directory", str(workdir), "--configfile", str(config),
                     "--config", f"mirror={MIRROR}", "--cores", "2", cwd=workdir)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return Path(workdir)


@pytest.mark.slow
def test_end_to_end_tables_cover_every_task_model_split_and_seed(small_run):
    summary = pd.read_csv(small_run / "results/tables/summary.csv")
    test = summary[summary["fold"] == "test"]
    combos = set(
        map(tuple, test[["dataset", "target", "model", "split"]].drop_duplicates().to_numpy())
    )
    expected = {(d, t, m, s)
                for d, t, splits in [("mrl-hl-leppek", "ribosome_load", ["random"]),
                                     ("mrl-hl-leppek", "half_life_in_cell", ["random"]),
                                     ("vep-clinvar-utr5", "pathogenic", ["random", "homology"])]
                for m in ("kmer-naive", "esm-random-tiny") for s in splits}  # fmt: skip
    assert combos == expected
    assert (summary["n_seeds"] == 3).all()
    kmer = test.set_index(["dataset", "target", "model", "split", "metric"])["mean"]
    assert kmer["mrl-hl-leppek", "ribosome_load", "kmer-naive", "random", "pearson"] > 0.3
    prevalence = 130 / 1525
    assert kmer["vep-clinvar-utr5", "pathogenic", "kmer-naive", "random", "auprc"] > prevalence


@pytest.mark.slow
def test_end_to_end_metrics_carry_provenance(small_run):
    metrics = pd.read_parquet(small_run / "results/tables/metrics.parquet")
    for column in ("dataset_sha256", "model_source", "model_revision", "code_version"):
        assert metrics[column].notna().all() and (metrics[column] != "").all()
    assert metrics["dataset_sha256"].str.fullmatch("[0-9a-f]{64}").all()
    assert (metrics["probe_bfloat16"] == native_bfloat16()).all()
    assert (small_run / "results/figures/heatmap.png").stat().st_size > 10_000
    assert (
        "vep-clinvar-utr5 / pathogenic (auprc)"
        in (small_run / "results/tables/leaderboard.md").read_text()
    )
    best = pd.read_csv(small_run / "results/tables/best_checkpoints.csv")
    assert set(best["split"]) == {"random", "homology"} and best["score"].notna().all()
    for figure in ("leakage.png", "compositional.png", "global_local.pdf", "dna_rna.png"):
        assert (small_run / "results/figures" / figure).stat().st_size > 5_000, figure
    audit = pd.read_json(
        small_run / "results/splits/vep-clinvar-utr5/homology.audit.json", typ="series"
    )
    assert audit["test_violations_max"] == 0


def test_python_api_example_runs(mirror):
    done = subprocess.run([sys.executable, "scripts/example_api.py"], cwd=ROOT,
                          capture_output=True, text=True)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert "ribosome_load" in done.stdout and "pearson" in done.stdout


@pytest.mark.slow
def test_html_report_holds_every_figure_with_its_caption(small_run):
    config = ROOT / "tests" / "configs" / "small.yaml"
    done = snakemake("--directory", str(small_run), "--configfile", str(config),
                     "--config", f"mirror={MIRROR}", "--report", "report.html",
                     cwd=small_run)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    html = (small_run / "report.html").read_text()
    for figure in ("heatmap", "leakage", "compositional", "task_bars", "global_local", "dna_rna"):
        assert f"{figure}.png" in html, figure
    assert "Homology leakage" in html and "Compositional generalisation" in html
