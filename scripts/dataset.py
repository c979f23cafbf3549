"""Build one dataset parquet from its catalog entry (Snakemake script)."""

from mrnaprobe.cli import run_step
from mrnaprobe.data import (
    build_dataset,
    dataset_sources,
    sha256sum,
    source_file_name,
    source_sha256,
    verify_source,
)
from mrnaprobe.provenance import write_json


def step(smk):
    entry = smk.params.entry
    paths = [smk.input.table] if isinstance(smk.input.table, str) else list(smk.input.table)
    sources = list(zip(dataset_sources(entry), paths, strict=True))
    if "join" in entry:
        sources.append((entry["join"]["source"], smk.input.join[0]))
    for source, path in sources:
        verify_source(path, source)
    join_path = smk.input.join[0] if smk.input.join else None
    table = build_dataset(smk.wildcards.dataset, entry, paths, join_path)
    table.to_parquet(smk.output.table, index=False)
    write_json(
        {
            "dataset": smk.wildcards.dataset,
            "rows": len(table),
            "sources": {
                source_file_name(source): source_sha256(path, source) for source, path in sources
            },
            "sha256": sha256sum(smk.output.table),
        },
        smk.output.info,
    )


run_step(step, snakemake)  # noqa: F821
