import sys

from mrnaprobe import MrnaProbeError
from mrnaprobe.report import canonical_splits

try:
    CANONICAL = canonical_splits(DATASETS, config["splits"])
except MrnaProbeError as err:
    sys.exit(f"mrnaprobe: error: {err}")

# Only the catalog fields the report reads, so that tuning a model (memory, batch sizes) or
# a dataset's source does not redo the report.
REPORT_MODELS = {
    name: {key: spec.get(key) for key in ("family", "params")}
    for name, spec in MODEL_SPECS.items()
}
REPORT_DATASETS = {
    name: {key: entry[key] for key in ("task_family", "resolution") if key in entry}
    for name, entry in DATASETS.items()
}
FIGURE_PARAMS = {
    "canonical": CANONICAL,
    "datasets": REPORT_DATASETS,
    "ddof": config["report"]["ddof"],
    "top_models": config["report"]["top_models"],
}


localrules:
    dataset,
    split,
    report,
    report_leaderboard,
    report_models,
    report_scaling,
    report_statistics,
    report_per_label,
    report_leakage,
    report_compositional,


rule report:
    input:
        probes=probe_outputs(),
        sidecars=sidecar_outputs(),
    output:
        metrics="results/tables/metrics.parquet",
        summary=table("results/tables/summary.csv", "summary_table", "Leaderboard"),
        models=table("results/tables/models.csv", "models_table", "Models"),
    log:
        "results/logs/report/aggregate.log",
    benchmark:
        "results/benchmarks/report/report.tsv"
    conda:
        "../../envs/probe.yaml"
    params:
        models=REPORT_MODELS,
        ddof=config["report"]["ddof"],
    script:
        "../../scripts/report.py"


rule report_leaderboard:
    input:
        summary=rules.report.output.summary,
        models=rules.report.output.models,
    output:
        **figure("heatmap", "Leaderboard"),
        **figure("task_bars", "Leaderboard"),
        leaderboard=table(
            "results/tables/leaderboard.csv", "leaderboard", "Leaderboard"
        ),
        leaderboard_md="results/tables/leaderboard.md",
    log:
        "results/logs/report/leaderboard.log",
    benchmark:
        "results/benchmarks/report/report_leaderboard.tsv"
    conda:
        "../../envs/probe.yaml"
    params:
        **FIGURE_PARAMS,
    script:
        "../../scripts/report.py"


rule report_models:
    input:
        summary=rules.report.output.summary,
        models=rules.report.output.models,
    output:
        **figure("global_local", "Models"),
        **figure("dna_rna", "Models"),
        table2=table(
            "results/tables/best_checkpoints.csv", "best_checkpoints", "Models"
        ),
        table2_md="results/tables/best_checkpoints.md",
    log:
        "results/logs/report/models.log",
    benchmark:
        "results/benchmarks/report/report_models.tsv"
    conda:
        "../../envs/probe.yaml"
    params:
        **FIGURE_PARAMS,
    script:
        "../../scripts/report.py"


rule report_scaling:
    input:
        summary=rules.report.output.summary,
        models=rules.report.output.models,
    output:
        **figure("scaling", "Models"),
        table=table("results/tables/scaling.csv", "scaling_table", "Models"),
    log:
        "results/logs/report/scaling.log",
    benchmark:
        "results/benchmarks/report/report_scaling.tsv"
    conda:
        "../../envs/probe.yaml"
    params:
        **FIGURE_PARAMS,
    script:
        "../../scripts/report.py"


rule report_statistics:
    input:
        metrics=rules.report.output.metrics,
        summary=rules.report.output.summary,
        models=rules.report.output.models,
    output:
        **figure("statistics", "Model comparison"),
        ranks=table("results/tables/ranks.csv", "ranks", "Model comparison"),
        pairwise=table("results/tables/pairwise.csv", "pairwise", "Model comparison"),
    log:
        "results/logs/report/statistics.log",
    benchmark:
        "results/benchmarks/report/report_statistics.tsv"
    conda:
        "../../envs/probe.yaml"
    params:
        **FIGURE_PARAMS,
    script:
        "../../scripts/report.py"


rule report_per_label:
    input:
        summary=rules.report.output.summary,
        models=rules.report.output.models,
    output:
        **figure("per_label", "Per-label"),
        table=table("results/tables/per_label.csv", "per_label_table", "Per-label"),
    log:
        "results/logs/report/per_label.log",
    benchmark:
        "results/benchmarks/report/report_per_label.tsv"
    conda:
        "../../envs/probe.yaml"
    params:
        **FIGURE_PARAMS,
    script:
        "../../scripts/report.py"


rule report_leakage:
    input:
        summary=rules.report.output.summary,
        models=rules.report.output.models,
        audits=audit_outputs(),
    output:
        **figure("leakage", "Splits"),
        audit=table("results/tables/leakage.csv", "leakage_table", "Splits"),
        table=table(
            "results/tables/leakage_experiment.csv", "leakage_experiment", "Splits"
        ),
    log:
        "results/logs/report/leakage.log",
    benchmark:
        "results/benchmarks/report/report_leakage.tsv"
    conda:
        "../../envs/probe.yaml"
    params:
        **FIGURE_PARAMS,
    script:
        "../../scripts/report.py"


rule report_compositional:
    input:
        summary=rules.report.output.summary,
        models=rules.report.output.models,
    output:
        **figure("compositional", "Splits"),
        table=table(
            "results/tables/compositional_experiment.csv",
            "compositional_experiment",
            "Splits",
        ),
    log:
        "results/logs/report/compositional.log",
    benchmark:
        "results/benchmarks/report/report_compositional.tsv"
    conda:
        "../../envs/probe.yaml"
    params:
        **FIGURE_PARAMS,
    script:
        "../../scripts/report.py"


REPORT_RULES = [
    rules.report,
    rules.report_leaderboard,
    rules.report_models,
    rules.report_scaling,
    rules.report_statistics,
    rules.report_per_label,
    rules.report_leakage,
    rules.report_compositional,
]
#: Every table and figure of the report stage (rule all).
REPORT_TARGETS = [path for rule_ in REPORT_RULES for path in rule_.output]
