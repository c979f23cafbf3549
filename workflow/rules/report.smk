localrules:
    dataset,
    split,
    report,


rule report:
    input:
        probe_outputs(),
    output:
        metrics="results/tables/metrics.parquet",
        summary="results/tables/summary.csv",
        leaderboard="results/tables/leaderboard.md",
        heatmap=report(
            "results/figures/heatmap.png",
            caption="../report/heatmap.rst",
            category="Leaderboard",
        ),
    log:
        "results/logs/report.log",
    conda:
        "../../envs/probe.yaml"
    script:
        "../../scripts/report.py"
