localrules:
    dataset,
    split,
    report,


rule report:
    input:
        probes=probe_outputs(),
        audits=audit_outputs(),
    output:
        metrics="results/tables/metrics.parquet",
        summary="results/tables/summary.csv",
        leaderboard="results/tables/leaderboard.md",
        leakage="results/tables/leakage.csv",
        leakage_experiment="results/tables/leakage_experiment.csv",
        compositional_experiment="results/tables/compositional_experiment.csv",
        heatmap=report(
            "results/figures/heatmap.png",
            caption="../report/heatmap.rst",
            category="Leaderboard",
        ),
        leakage_figure=report(
            "results/figures/leakage.png",
            caption="../report/leakage.rst",
            category="Splits",
        ),
        compositional_figure=report(
            "results/figures/compositional.png",
            caption="../report/compositional.rst",
            category="Splits",
        ),
    log:
        "results/logs/report.log",
    conda:
        "../../envs/probe.yaml"
    script:
        "../../scripts/report.py"
