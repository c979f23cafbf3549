"""Benchmark: MMseqs2 homology clustering + leakage audit of synthetic mRNA-like sequences.

Synthetic sequences (log-normal lengths, median 2.4 kb) with planted families: copies at
~90-97% identity, some reverse-complemented. Prints one JSON line: seconds and peak memory
(MMseqs2 child processes and this process), clusters found, planted pairs recovered, and the
audit of a random and a homology split.
Usage: python benchmarks/homology_50k.py [N] [THREADS]
"""

import json
import resource
import sys
import time

import numpy as np
import pandas as pd

from mrnaprobe.homology import cluster_dataset
from mrnaprobe.splits import audit, make_split

SETTINGS = {"min_seq_id": 0.8, "coverage": 0.8, "cov_mode": 0, "kmer": 13,
            "sensitivity": 5.7, "max_seqs": 1000}  # fmt: skip
COMPLEMENT = str.maketrans("ACGT", "TGCA")
BASES = np.array(list("ACGT"), dtype="S1")


def synthetic(n: int, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """n sequences, a third of them in planted families; returns the table and family ids."""
    rng = np.random.default_rng(seed)
    lengths = np.clip(rng.lognormal(np.log(2400), 0.6, n).astype(int), 200, 30000)
    family = np.full(n, -1)
    sequences = []
    for i, length in enumerate(lengths):
        if i % 3 == 1 and rng.random() < 0.9:  # a mutated copy of the previous sequence
            parent = np.frombuffer(sequences[-1].encode(), dtype="S1").copy()
            sites = rng.random(len(parent)) < rng.uniform(0.03, 0.1)
            parent[sites] = BASES[rng.integers(0, 4, sites.sum())]
            child = parent.tobytes().decode()
            if rng.random() < 0.3:
                child = child.translate(COMPLEMENT)[::-1]
            sequences.append(child)
            family[i] = family[i - 1] = i - 1
        else:
            sequences.append(BASES[rng.integers(0, 4, length)].tobytes().decode())
    ids = [f"s{i}" for i in range(n)]
    return pd.DataFrame({"id": ids, "sequence": sequences}), family


def peak_gb(who) -> float:
    """Peak resident memory in GB (Linux reports KB)."""
    return round(resource.getrusage(who).ru_maxrss / 2**20, 2)


def main(n: int = 50_000, threads: int = 2) -> None:
    dataset, family = synthetic(n)
    start = time.perf_counter()
    clusters, hits, command = cluster_dataset(dataset, SETTINGS, threads)
    cluster_seconds = time.perf_counter() - start
    options = {"fractions": (0.7, 0.15, 0.15)}
    seeds = [2541, 413, 411]
    start = time.perf_counter()
    audits = {kind: audit(make_split(kind, dataset, clusters, seeds, options), hits, SETTINGS,
                          command) for kind in ("random", "homology")}  # fmt: skip
    audit_seconds = time.perf_counter() - start
    label = clusters["cluster"].to_numpy()
    pairs = np.flatnonzero(family >= 0)
    recovered = np.mean(label[pairs] == label[family[pairs]])
    print(json.dumps({
        "sequences": n,
        "median_length": int(dataset["sequence"].str.len().median()),
        "threads": threads,
        "cluster_seconds": round(cluster_seconds, 1),
        "audit_seconds": round(audit_seconds, 1),
        "peak_rss_mmseqs_gb": peak_gb(resource.RUSAGE_CHILDREN),
        "peak_rss_python_gb": peak_gb(resource.RUSAGE_SELF),
        "clusters": int(clusters["cluster"].nunique()),
        "planted_members_recovered": round(float(recovered), 4),
        "random_test_fraction_leaky": audits["random"]["test_fraction_mean"],
        "homology_test_violations": audits["homology"]["test_violations_max"],
    }))  # fmt: skip


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3]))
