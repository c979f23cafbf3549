"""Download one catalog source file and verify its sha256 (Snakemake script)."""

from mrnaprobe.cli import run_step
from mrnaprobe.data import download


def step(smk):
    download(smk.params.source["url"], smk.output[0], smk.params.source.get("sha256"))


run_step(step, snakemake)  # noqa: F821
