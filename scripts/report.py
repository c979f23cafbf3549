"""Aggregate probe tables and split audits into tables and figures (Snakemake script)."""

from pathlib import Path

from mrnaprobe.cli import run_step
from mrnaprobe.provenance import read_json
from mrnaprobe.report import (
    collect,
    heatmap,
    leaderboard,
    leakage_table,
    paired,
    paired_scatter,
    summarise,
)

EXPERIMENTS = {
    "leakage": ("random", "homology", "Random vs homology split"),
    "compositional": ("compositional_random", "compositional", "Unseen element combination"),
}


def step(smk):
    metrics = collect(smk.input.probes)
    summary = summarise(metrics)
    metrics.to_parquet(smk.output.metrics, index=False)
    summary.to_csv(smk.output.summary, index=False, float_format="%.6g")
    Path(smk.output.leaderboard).write_text(leaderboard(summary))
    heatmap(summary, smk.output.heatmap)
    audits = [read_json(path) for path in smk.input.audits]
    leakage_table(audits).to_csv(smk.output.leakage, index=False, float_format="%.6g")
    for name, (first, second, title) in EXPERIMENTS.items():
        table = paired(summary, first, second)
        table.to_csv(smk.output[f"{name}_experiment"], index=False, float_format="%.6g")
        paired_scatter(table, first, second, smk.output[f"{name}_figure"], title)


run_step(step, snakemake)  # noqa: F821
