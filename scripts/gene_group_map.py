"""Build one species' gene_name,gene_group table for the homologene split (Snakemake script)."""

import logging

from mrnaprobe.cli import run_step
from mrnaprobe.data import verify_source
from mrnaprobe.splits import build_gene_group_map


def step(smk):
    entry = smk.params.entry
    verify_source(smk.input[0], entry["source"])
    table = build_gene_group_map(
        smk.input[0], entry["format"], entry.get("taxid"), entry.get("member")
    )
    table.to_csv(smk.output[0], index=False)
    logging.getLogger("mrnaprobe").info(
        "%s: %d genes in %d groups", smk.wildcards.species, len(table),
        table["gene_group"].nunique(),
    )  # fmt: skip


run_step(step, snakemake)  # noqa: F821
