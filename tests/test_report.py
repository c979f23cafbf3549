"""Report: seed summary and intervals, canonical splits, parameter counts, per-label metrics,
model-vs-model statistics, and the report rules through Snakemake into an HTML report that
headless Chromium renders with every figure."""

import json
import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest
from scipy.stats import wilcoxon

from benchmarks.report_scale import snakemake as report_rules
from benchmarks.report_scale import write_run
from mrnaprobe import MrnaProbeError
from mrnaprobe.report import (
    annotate,
    canonical_splits,
    collect,
    headline,
    holm,
    leaderboard,
    leaderboard_markdown,
    leakage_table,
    model_info,
    pairwise,
    per_label_table,
    ranks,
    representatives,
    seed_scores,
    split_scatter,
    split_table,
    summarise,
)

COLUMNS = ["dataset", "target", "task", "label", "model", "split", "seed", "fold", "metric",
           "value"]  # fmt: skip


def metrics():
    rows = []
    for model, base in (("kmer", 0.6), ("esm", 0.2)):
        for seed, noise in zip((1, 2, 3), (-0.01, 0.0, 0.04), strict=True):
            rows.append(("d", "t", "regression", "", model, "random", seed, "test", "pearson",
                         base + noise))  # fmt: skip
            rows.append(("d", "t", "regression", "", model, "random", seed, "test", "mse",
                         1 - base))  # fmt: skip
    return pd.DataFrame(rows, columns=COLUMNS)


@pytest.mark.parametrize("ddof", [0, 1])
def test_summary_mean_and_ci_over_seeds_with_the_configured_ddof(ddof):
    summary = summarise(metrics(), ddof).set_index(["model", "metric"])
    values = np.array([0.59, 0.6, 0.64])
    assert summary.loc[("kmer", "pearson"), "mean"] == pytest.approx(values.mean())
    assert summary.loc[("kmer", "pearson"), "ci95"] == pytest.approx(
        1.96 * values.std(ddof=ddof) / np.sqrt(3)
    )
    assert summary.loc[("kmer", "pearson"), "n_seeds"] == 3
    assert (summary["ddof"] == ddof).all()


def test_canonical_split_defaults_to_the_first_and_must_be_one_of_the_dataset_splits():
    datasets = {"a": {}, "b": {"splits": ["homology", "random"]},
                "c": {"splits": ["random", "homology"], "canonical_split": "homology"}}  # fmt: skip
    assert canonical_splits(datasets, ["random"]) == {"a": "random", "b": "homology",
                                                      "c": "homology"}  # fmt: skip
    with pytest.raises(MrnaProbeError, match="datasets.a.canonical_split: 'gene'"):
        canonical_splits({"a": {"canonical_split": "gene"}}, ["random", "homology"])


def test_headline_uses_canonical_split_and_macro_auprc_for_multilabel(tmp_path):
    frame = metrics()
    other = frame.assign(split="homology", value=frame["value"] - 0.1)
    multilabel = pd.DataFrame(
        [("m", "loc", "multilabel", label, "kmer", "random", seed, "test", metric, value)
         for seed in (1, 2)
         for label, metric, value in [("", "auprc", 0.83), ("", "auprc_macro", 0.41),
                                      ("Exosome", "auprc", 0.98), ("ER", "auprc", 0.05)]],
        columns=COLUMNS,
    )  # fmt: skip
    summary = summarise(pd.concat([frame, other, multilabel]))
    rows = headline(summary, {"d": "homology", "m": "random"})
    got = rows.set_index(["task_label", "model"])[["split", "mean"]]
    assert got.loc[("d / t (pearson)", "kmer"), "split"] == "homology"
    assert got.loc[("d / t (pearson)", "kmer"), "mean"] == pytest.approx(0.51)
    assert got.loc[("m / loc (auprc_macro)", "kmer"), "mean"] == pytest.approx(0.41)
    assert len(rows) == 3  # one row per task x model: the micro and per-label rows are not
    board = leaderboard_markdown(leaderboard(rows, ["kmer", "esm"]), 2)
    assert "| d / t (pearson) | homology | 0.510 ± " in board and "macro AUPRC" in board
    assert "| m / loc (auprc_macro) | random | 0.410 ± 0.000 |  |" in board


def test_model_info_prefers_the_loaded_count_then_the_catalog():
    models = {"kmer-naive": {"family": "baseline"},
              "nt": {"family": "nucleotide-transformer", "params": 500_000_000},
              "tiny": {"family": "random-init"}}  # fmt: skip
    sidecars = [{"model": "tiny", "run": {"params": 12345}}, {"model": "kmer-naive", "run": {}}]
    info = model_info(models, sidecars).set_index("model")
    assert info.loc["nt", ["params", "params_source", "molecule"]].tolist() == [
        500_000_000, "catalog", "DNA"]  # fmt: skip
    assert info.loc["tiny", ["params", "params_source"]].tolist() == [12345, "loaded"]
    assert pd.isna(info.loc["kmer-naive", "params"])


def test_leakage_table_and_three_way_split_comparison(tmp_path):
    audit = {"dataset": "d", "split": "random", "min_seq_id": 0.8, "coverage": 0.8, "command": "x",
             "seeds": {"1": {"test": {"n": 10, "n_with_train_hit": 4, "fraction": 0.4,
                                      "max_identity": 0.99}}}}  # fmt: skip
    table = leakage_table([audit])
    assert table.iloc[0][["dataset", "seed", "fold", "n_with_train_hit"]].tolist() == [
        "d", 1, "test", 4]  # fmt: skip
    frame = metrics()
    splits = ("random", "homologene", "homology")
    both = pd.concat([frame, frame.assign(split="homology", value=frame["value"] - 0.1),
                      frame.assign(split="homologene", value=frame["value"] - 0.2)])  # fmt: skip
    three = split_table(summarise(both), splits)
    assert three["random - homology"].round(6).tolist() == [0.1, 0.1]
    assert three["random - homologene"].round(6).tolist() == [0.2, 0.2]
    two = split_table(summarise(pd.concat([frame, both[both["split"] == "homology"]])), splits)
    assert two["homologene"].isna().all() and two["random - homology"].notna().all()
    info = model_info({"kmer": {"family": "baseline"}, "esm": {"family": "random-init"}}, [])
    split_scatter(three, splits, info, tmp_path / "s.png", "t")
    assert (tmp_path / "s.png").stat().st_size > 5000 and (tmp_path / "s.pdf").exists()
    assert split_table(summarise(frame), splits).empty


def test_holm_matches_the_step_down_definition():
    p = np.array([0.01, 0.04, 0.03, 0.2])
    # sorted 0.01, 0.03, 0.04, 0.2 -> 4*0.01, max(.04, 3*.03), max(.09, 2*.04), max(.09, .2)
    np.testing.assert_allclose(holm(p), [0.04, 0.09, 0.09, 0.2])


def test_ranks_and_pairwise_wilcoxon_over_task_seed_pairs():
    rng = np.random.default_rng(0)
    rows = []
    for task in range(6):
        for seed in range(10):
            noise = rng.normal(0, 0.01, 3)
            for k, (model, base) in enumerate((("good", 0.7), ("twin", 0.7), ("bad", 0.5))):
                rows.append((f"d{task}", "t", "binary", "", model, "random", seed, "test",
                             "auprc", base + 0.01 * task + noise[k]))  # fmt: skip
    frame = pd.DataFrame(rows, columns=COLUMNS)
    scores = seed_scores(frame, {f"d{t}": "random" for t in range(6)})
    pairs = pairwise(scores).set_index(["model_a", "model_b"])
    assert pairs["n_pairs"].eq(60).all()
    assert list(pairs.index) == [("bad", "good"), ("bad", "twin"), ("good", "twin")]
    assert pairs.loc[("bad", "good"), "significant"] and pairs.loc[("bad", "good"), "wins"] == 0
    assert pairs.loc[("bad", "good"), "median_difference"] < -0.15
    assert not pairs.loc[("good", "twin"), "significant"]
    diff = (scores[scores["model"] == "good"]["value"].to_numpy()
            - scores[scores["model"] == "twin"]["value"].to_numpy())  # fmt: skip
    assert pairs.loc[("good", "twin"), "p"] == pytest.approx(wilcoxon(diff).pvalue)
    assert pairs.loc[("good", "twin"), "p_holm"] == pytest.approx(holm(pairs["p"].to_numpy())[2])
    ranked = ranks(headline(summarise(frame), {f"d{t}": "random" for t in range(6)}))
    assert ranked["model"].iloc[-1] == "bad" and ranked["mean_rank"].iloc[-1] == 3


def test_figures_name_one_model_per_family_beyond_top_models():
    models = {f"m{i}": {"family": f"f{i % 4}"} for i in range(45)}
    info = model_info(models, [])
    ranked = pd.DataFrame({"model": [f"m{i}" for i in range(45)], "mean_rank": range(45)})
    assert representatives(ranked, info, top=10) == ["m0", "m1", "m2", "m3"]
    assert representatives(ranked.head(8), info, top=10) == [f"m{i}" for i in range(8)]


def test_per_label_table_has_auroc_auprc_and_prevalence_per_label():
    rows = [("m", "loc", "multilabel", label, "kmer", "random", seed, "test", metric, value)
            for seed in (1, 2)
            for label, prevalence in (("Exosome", 0.98), ("ER", 0.05))
            for metric, value in (("auroc", 0.6 + seed / 100), ("auprc", prevalence + 0.01),
                                  ("prevalence", prevalence))]  # fmt: skip
    table = per_label_table(summarise(pd.DataFrame(rows, columns=COLUMNS))).set_index("label")
    assert table.loc["Exosome", "prevalence"] == pytest.approx(0.98)
    assert table.loc["ER", "auprc"] == pytest.approx(0.06)
    assert table.loc["ER", "auroc"] == pytest.approx(0.615) and table.loc["ER", "auroc_ci95"] > 0


def test_annotate_tags_tasks_and_models():
    rows = headline(summarise(metrics()))
    info = model_info({"kmer": {"family": "baseline"}}, [])
    tagged = annotate(rows, info, {"d": {"task_family": "MRL", "resolution": "nucleotide"}})
    families = set(zip(tagged["model"], tagged["family"], strict=True))
    assert families == {("kmer", "baseline"), ("esm", "other")}
    assert (tagged["task_family"] == "MRL").all() and (tagged["resolution"] == "nucleotide").all()


CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--allow-file-access-from-files",
                  "--virtual-time-budget=60000"]  # fmt: skip

#: Loads the report in a frame, shows each PNG result as the report's own "eye" button does
#: (app.setView), and lists per result: path, rendered image size, caption length.
VIEWER = """<html><body><pre id="out">pending</pre>
<iframe id="report" src="report.html" width="1400" height="1000"></iframe>
<script>
const sleep = ms => new Promise(resolve => setTimeout(resolve, ms));
document.getElementById("report").onload = async () => { try {
  await sleep(1000);
  const frame = document.getElementById("report"), w = frame.contentWindow, out = [];
  const app = w.eval("app");  // a top-level `let` of the report, not a window property
  for (const [path, entry] of Object.entries(w.results)) {
    if (!path.endsWith(".png")) continue;
    app.setView({content: "img", contentPath: entry.data_uri, resultPath: path});
    await sleep(500);
    const img = [...frame.contentDocument.images].find(i => i.src === entry.data_uri);
    out.push([path, img ? img.naturalWidth : 0, img ? img.naturalHeight : 0,
              (entry.caption || "").length].join(" "));
  }
  document.getElementById("out").textContent = out.join("\\n");
} catch (err) { document.getElementById("out").textContent = "error " + err; } };
</script></body></html>"""


def chromium_render(html_dir, tmp_path) -> dict:
    """Open the report in headless Chromium; {png path: (width, height, caption length)}."""
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    if binary is None:
        pytest.fail("headless Chromium not found: apt-get install -y chromium")
    (html_dir / "viewer.html").write_text(VIEWER)
    done = subprocess.run([binary, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'chromium'}",
                           "--dump-dom", (html_dir / "viewer.html").as_uri()],
                          capture_output=True, text=True, timeout=180)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    text = done.stdout.split('<pre id="out">', 1)[1].split("</pre>", 1)[0]
    assert text != "pending" and not text.startswith("error"), text
    return {p: tuple(map(int, rest)) for p, *rest in (line.split() for line in text.splitlines())}


def test_report_rules_and_html_report_render_every_figure_in_chromium(tmp_path):
    """The report rules on a small synthetic run (4 models, 5 tasks incl. a multilabel one,
    3 seeds), then `snakemake --report`, opened in headless Chromium: every figure of every
    report rule shows as an image, with its caption."""
    write_run(tmp_path, n_models=4, n_tasks=5, n_seeds=3, labels=3)
    done = report_rules(tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    figures = sorted(p.relative_to(tmp_path).as_posix()
                     for p in (tmp_path / "results/figures").glob("*.png"))  # fmt: skip
    assert len(figures) == 9 and all(
        (tmp_path / f).with_suffix(".pdf").stat().st_size > 5000 for f in figures
    )
    done = report_rules(tmp_path, "--report", "results/report.html", cores=1)
    assert done.returncode == 0, done.stderr[-3000:]
    rendered = chromium_render(tmp_path / "results", tmp_path)
    assert sorted(rendered) == figures
    for path, (width, height, caption) in rendered.items():
        assert width > 300 and height > 200 and caption > 100, path
    summary = pd.read_csv(tmp_path / "results/tables/summary.csv")
    assert (summary["ddof"] == 0).all()  # report: {ddof: 0} in the synthetic config
    info = pd.read_csv(tmp_path / "results/tables/models.csv").set_index("model")
    assert info["params_source"].fillna("").tolist() == ["", "loaded", "catalog", "catalog"]
    ranked = pd.read_csv(tmp_path / "results/tables/ranks.csv")
    assert ranked["n_tasks"].eq(5).all() and ranked["friedman_p"].notna().all()
    assert json.loads((tmp_path / "results/splits/d00/random.audit.json").read_text())


def test_collect_reads_every_table_in_chunks_and_fills_missing_labels(tmp_path):
    frame = metrics()
    paths = []
    for k, (_, part) in enumerate(frame.groupby(["model", "seed"])):
        paths.append(tmp_path / f"{k}.parquet")
        (part.drop(columns="label") if k == 0 else part).to_parquet(paths[-1], index=False)
    got = collect(paths, chunk=4)
    assert len(got) == len(frame) and (got["label"] == "").all()
    pd.testing.assert_frame_equal(got, collect(paths))
