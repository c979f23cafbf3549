"""The report rules (Snakemake script): `report` aggregates the probe tables (metrics,
summary, models); each other rule writes one family of tables and figures from them."""

from mrnaprobe.cli import run_step
from mrnaprobe.report import run_rule

run_step(run_rule, snakemake)  # noqa: F821
