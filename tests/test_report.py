"""Report: seed summary with 1.96*SE intervals, leaderboard and heatmap."""

import numpy as np
import pandas as pd

from mrnaprobe.report import heatmap, leaderboard, summarise


def metrics():
    rows = []
    for model, base in (("kmer", 0.6), ("esm", 0.2)):
        for seed, noise in zip((1, 2, 3), (-0.01, 0.0, 0.04), strict=True):
            rows.append(
                ("d", "t", "regression", model, "random", seed, "test", "pearson", base + noise)
            )
            rows.append(("d", "t", "regression", model, "random", seed, "test", "mse", 1 - base))
    columns = ["dataset", "target", "task", "model", "split", "seed", "fold", "metric", "value"]
    return pd.DataFrame(rows, columns=columns)


def test_summary_mean_and_ci_over_seeds():
    summary = summarise(metrics()).set_index(["model", "metric"])
    values = np.array([0.59, 0.6, 0.64])
    assert summary.loc[("kmer", "pearson"), "mean"] == np.float64(values.mean())
    assert np.isclose(
        summary.loc[("kmer", "pearson"), "ci95"], 1.96 * values.std(ddof=1) / np.sqrt(3)
    )
    assert summary.loc[("kmer", "pearson"), "n_seeds"] == 3


def test_leaderboard_shows_headline_metric_per_model(tmp_path):
    summary = summarise(metrics())
    table = leaderboard(summary)
    assert "| d / t (pearson) | 0.210 ± " in table and "0.610 ± " in table
    heatmap(summary, tmp_path / "h.png")
    assert (tmp_path / "h.png").read_bytes()[:4] == b"\x89PNG"


def test_leakage_table_and_paired_experiment(tmp_path):
    from mrnaprobe.report import leakage_table, paired, paired_scatter

    audit = {"dataset": "d", "split": "random", "min_seq_id": 0.8, "coverage": 0.8, "command": "x",
             "seeds": {"1": {"test": {"n": 10, "n_with_train_hit": 4, "fraction": 0.4,
                                      "max_identity": 0.99}}}}  # fmt: skip
    table = leakage_table([audit])
    assert table.iloc[0][["dataset", "seed", "fold", "n_with_train_hit"]].tolist() == [
        "d",
        1,
        "test",
        4,
    ]
    frame = metrics()
    homology = frame.assign(split="homology", value=frame["value"] - 0.1)
    both = paired(summarise(pd.concat([frame, homology])), "random", "homology")
    assert both["difference"].round(6).tolist() == [0.1, 0.1]
    paired_scatter(both, "random", "homology", tmp_path / "s.png", "t")
    assert (tmp_path / "s.png").stat().st_size > 5000
    assert paired(summarise(frame), "random", "homology").empty
