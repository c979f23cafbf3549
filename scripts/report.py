"""Aggregate probe tables and split audits into tables and figures (Snakemake script)."""

from pathlib import Path

from mrnaprobe.cli import run_step
from mrnaprobe.provenance import read_json
from mrnaprobe.report import (
    best_checkpoints,
    best_checkpoints_markdown,
    collect,
    dna_vs_rna,
    global_vs_local,
    heatmap,
    leaderboard,
    leakage_table,
    paired,
    paired_scatter,
    summarise,
    task_bars,
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
    task_bars(summary, smk.output.task_bars)
    models, datasets = smk.params.models, smk.params.datasets
    best = best_checkpoints(summary, models, datasets)
    best.to_csv(smk.output.table2, index=False, float_format="%.6g")
    Path(smk.output.table2_md).write_text(best_checkpoints_markdown(best))
    global_vs_local(summary, models, datasets, Path(smk.output.global_local).with_suffix(""))
    dna_vs_rna(summary, models, datasets, Path(smk.output.dna_rna).with_suffix(""))
    audits = [read_json(path) for path in smk.input.audits]
    leakage_table(audits).to_csv(smk.output.leakage, index=False, float_format="%.6g")
    for name, (first, second, title) in EXPERIMENTS.items():
        table = paired(summary, first, second)
        table.to_csv(smk.output[f"{name}_experiment"], index=False, float_format="%.6g")
        paired_scatter(table, first, second, smk.output[f"{name}_figure"], title)


run_step(step, snakemake)  # noqa: F821
