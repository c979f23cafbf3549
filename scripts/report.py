"""Aggregate every probe table into metrics, summary, leaderboard and heatmap (Snakemake script)."""

from pathlib import Path

from mrnaprobe.cli import run_step
from mrnaprobe.report import collect, heatmap, leaderboard, summarise


def step(smk):
    metrics = collect(smk.input)
    summary = summarise(metrics)
    metrics.to_parquet(smk.output.metrics, index=False)
    summary.to_csv(smk.output.summary, index=False, float_format="%.6g")
    Path(smk.output.leaderboard).write_text(leaderboard(summary))
    heatmap(summary, smk.output.heatmap)


run_step(step, snakemake)  # noqa: F821
