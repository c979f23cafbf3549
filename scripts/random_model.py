"""Save a random-initialised encoder with its tokenizer via save_pretrained (Snakemake script)."""

from mrnaprobe.cli import run_step
from mrnaprobe.embed import build_random_encoder


def step(smk):
    build_random_encoder(smk.output[0], smk.params.spec)


run_step(step, snakemake)  # noqa: F821
