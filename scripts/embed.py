"""Embed one dataset with one catalog model (rules embed, embed_shard, their _cpu twins,
and merge_shards).

embed_shard: per-chunk token sums of shard i of n -> .npz.
embed, merge_shards: the .npy (rows in dataset order) + JSON sidecar, computed here
(baselines, unsharded models) or merged from the shards' .npz files.
"""

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from mrnaprobe import MrnaProbeError
from mrnaprobe.cli import run_step
from mrnaprobe.embed import (
    composition_baseline,
    embed_sequences,
    embed_shard,
    merge_shards,
    naive_baseline,
)
from mrnaprobe.provenance import code_version, read_json, write_json
from mrnaprobe.tracks import cut_regions, needed_tracks, track_features


def model_source(smk, spec):
    """Where the weights come from: the workflow-built folder, or the hub id / folder."""
    return smk.input.model if spec["kind"] == "random-init" else spec["source"]


def read_sequences(smk) -> list[str]:
    return pd.read_parquet(smk.input.dataset, columns=["sequence"])["sequence"].tolist()


def read_inputs(smk, spec) -> tuple[list[str], dict | None]:
    """The sequences a model embeds (its `input_region`, cut by the CDS track) and the
    tracks it reads (name -> per-sequence arrays; None when it reads none)."""
    names = needed_tracks(spec)
    frame = pd.read_parquet(smk.input.dataset, columns=["sequence", *names])
    sequences = frame["sequence"].tolist()
    tracks = {name: frame[name].tolist() for name in names}
    if (which := spec.get("input_region", "sequence")) != "sequence":
        sequences = cut_regions(sequences, tracks["cds"], which, spec.get("region_min_length", 1))
    return sequences, {name: tracks[name] for name in spec.get("tracks") or []} or None


def step(smk):
    spec = smk.params.spec
    rows = pq.read_metadata(smk.input.dataset).num_rows  # merge_shards reads no sequences
    threads, cache = smk.threads, smk.params.model_cache
    if smk.rule.startswith("embed_shard"):  # embed_shard, embed_shard_cpu
        shard, shards = int(smk.wildcards.shard), int(smk.wildcards.shards)
        sequences, tracks = read_inputs(smk, spec)
        arrays = embed_shard(sequences, spec, model_source(smk, spec), shard, shards, cache,
                             threads, tracks=tracks)  # fmt: skip
        with open(smk.output[0], "wb") as handle:
            np.savez(handle, **arrays)
        return

    info = {}
    source = spec.get("source", smk.wildcards.model)
    if spec["kind"] == "kmer":
        low, high = spec["k"]
        sequences, tracks = read_inputs(smk, spec)
        extra = None if tracks is None else track_features(tracks["cds"], tracks["splice"])
        embeddings = naive_baseline(sequences, range(low, high + 1), extra)
        source = "kmer-naive-baseline" + ("-6track" if tracks else "")
        revision = f"k{low}-{high}"
    elif spec["kind"] == "composition":
        embeddings = composition_baseline(read_sequences(smk))
        source, revision = "composition-baseline", "v1"
    else:
        if smk.rule == "merge_shards":
            embeddings, info = merge_shards(dict(np.load(path)) for path in smk.input.shards)
        else:
            sequences, tracks = read_inputs(smk, spec)
            embeddings, info = embed_sequences(sequences, spec, model_source(smk, spec), cache,
                                               threads, tracks=tracks)  # fmt: skip
        if spec["kind"] == "random-init":
            source, revision = smk.wildcards.model, f"init_seed{spec['init_seed']}"
        else:
            revision = info.get("revision") or spec["revision"]
    if embeddings.shape[0] != rows:
        raise MrnaProbeError(f"{embeddings.shape[0]} embeddings for {rows} sequences")
    np.save(smk.output.embeddings, embeddings)
    write_json(
        {
            "model": smk.wildcards.model,
            "kind": spec["kind"],
            "family": spec.get("family"),
            "source": source,
            "revision": revision,
            "requested_revision": spec.get("revision"),
            "pooling": spec["pooling"],
            "max_tokens": spec.get("max_tokens"),
            "framing": spec.get("framing"),
            "pool_specials": spec.get("pool_specials"),
            "overlap_last_chunk": spec.get("overlap_last_chunk"),
            "alphabet": spec.get("alphabet"),
            "input_region": spec.get("input_region", "sequence"),
            "tracks": spec.get("tracks") or [],
            "dim": int(embeddings.shape[1]),
            "dtype": str(embeddings.dtype),
            "rows": int(embeddings.shape[0]),
            "dataset": smk.wildcards.dataset,
            "dataset_sha256": read_json(smk.input.info)["sha256"],
            "code_version": code_version(),
            "run": info,
        },
        smk.output.sidecar,
    )


run_step(step, snakemake)  # noqa: F821
