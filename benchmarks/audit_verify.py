"""Independent check of the leakage audit: exact alignment of sampled test sequences.

For each dataset of a config: build it, run the homology search (MMseqs2 + the exact search
of short rows) and a split, then draw a random sample of test sequences and align each,
both strands, against every train sequence of compatible length with parasail's
Smith-Waterman (match 2, mismatch -3, gap open 5, extend 2; identity = matches over aligned
columns, coverage = aligned span over each sequence's length, MMseqs2's definitions). A test
sequence is leaky when some train sequence meets the config's identity and coverage; the
audit misses it when the homology search found no such train hit. Prints one JSON line per
dataset: sample size, leaky by alignment, flagged by the audit, misses, miss rate.
Usage: python benchmarks/audit_verify.py [--config config/config.yaml] [--split random]
       [--seed 2541] [--sample 200] [--exact-below N] [--kmer K] [--sensitivity S] DATASET...
"""

import argparse
import json
import time

import numpy as np
import parasail
import yaml

from mrnaprobe.data import build_dataset, dataset_source_paths
from mrnaprobe.homology import COMPLEMENT, cluster_dataset, region_sequences
from mrnaprobe.splits import make_split

MATRIX = parasail.matrix_create("ACGTN", 2, -3)
MATRIX.set_value(4, 4, -3)  # N matches nothing, as in MMseqs2's identity


def matches_and_columns(query: str, target: str, cigar) -> tuple[int, int]:
    """Identical A/C/G/T pairs and aligned columns of a parasail traceback."""
    i, j, matches, columns = cigar.beg_query, cigar.beg_ref, 0, 0
    for code in cigar.seq:
        length, op = parasail.Cigar.decode_len(code), parasail.Cigar.decode_op(code).decode()
        columns += length
        if op in "=XM":
            pairs = zip(query[i : i + length], target[j : j + length], strict=True)
            matches += sum(a == b != "N" for a, b in pairs)
        i += length if op in "=XMI" else 0
        j += length if op in "=XMD" else 0
    return matches, columns


def meets(query: str, target: str, min_id: float, coverage: float) -> bool:
    """Whether a local alignment of query and target meets the identity and coverage."""
    result = parasail.sw_trace_striped_16(query, target, 5, 2, MATRIX)
    cigar = result.cigar
    matches, columns = matches_and_columns(query, target, cigar)
    q_span = result.end_query - cigar.beg_query + 1
    t_span = result.end_ref - cigar.beg_ref + 1
    return (
        columns > 0
        and matches / columns >= min_id
        and q_span >= coverage * len(query)
        and t_span >= coverage * len(target)
    )


def leaky(query: str, train: list[str], min_id: float, coverage: float) -> bool:
    """Whether any train sequence of compatible length aligns to query (either strand)."""
    reverse = query.translate(COMPLEMENT)[::-1]
    for target in train:
        if min(len(query), len(target)) < coverage * max(len(query), len(target)):
            continue
        if meets(query, target, min_id, coverage) or meets(reverse, target, min_id, coverage):
            return True
    return False


def verify(name: str, entry: dict, config: dict, args) -> dict:
    """The audit's miss rate on one dataset (see the module docstring)."""
    began = time.time()
    region = entry.get("homology_region")
    if region and "column" in region:
        entry = entry | {"carry_columns": [region["column"]]}
    paths = dataset_source_paths(entry, config["mirror"], config["download_cache"])
    dataset = build_dataset(name, entry, paths)
    overrides = {"exact_below": args.exact_below, "kmer": args.kmer,
                 "sensitivity": args.sensitivity}  # fmt: skip
    settings = config["homology"] | {k: v for k, v in overrides.items() if v is not None}
    _, hits, _ = cluster_dataset(dataset, settings, threads=1, region=region, name=name)
    fractions = config.get("split_fractions", [0.7, 0.15, 0.15])
    split = make_split(args.split, dataset, None, [args.seed], {"fractions": fractions})
    fold = dict(zip(split["id"], split["fold"], strict=True))
    sequences = dict(zip(dataset["id"], region_sequences(dataset, region), strict=True))
    train_ids = {i for i, f in fold.items() if f == "train"}
    flagged = set(hits.loc[hits["target"].isin(train_ids), "query"])
    test = sorted(i for i, f in fold.items() if f == "test")
    rng = np.random.default_rng(0)
    sample = rng.choice(test, min(args.sample, len(test)), replace=False)
    train = [sequences[i] for i in sorted(train_ids)]
    min_id, coverage = settings["min_seq_id"], settings["coverage"]
    truth = {i: leaky(sequences[i], train, min_id, coverage) for i in sample}
    n_leaky = sum(truth.values())
    misses = sum(is_leaky and i not in flagged for i, is_leaky in truth.items())
    return {
        "dataset": name,
        "split": args.split,
        "seed": args.seed,
        "rows": len(dataset),
        "sampled_test": len(sample),
        "leaky_by_alignment": n_leaky,
        "flagged_by_audit": sum(i in flagged for i in sample),
        "missed": misses,
        "miss_rate": round(misses / n_leaky, 4) if n_leaky else None,
        "flagged_not_aligned": sum(i in flagged and not truth[i] for i in sample),
        "exact_below": settings.get("exact_below"),
        "kmer": settings["kmer"],
        "sensitivity": settings["sensitivity"],
        "seconds": round(time.time() - began, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("datasets", nargs="+")
    parser.add_argument("--config", default="config/config.yaml")
    parser.add_argument("--split", default="random")
    parser.add_argument("--seed", type=int, default=2541)
    parser.add_argument("--sample", type=int, default=200)
    parser.add_argument("--exact-below", type=int, default=None)
    parser.add_argument("--kmer", type=int, default=None, help="MMseqs2 -k (default: config)")
    parser.add_argument("--sensitivity", type=float, default=None, help="MMseqs2 -s")
    args = parser.parse_args()
    with open(args.config) as handle:
        config = yaml.safe_load(handle)
    config.setdefault("download_cache", "resources/downloads")
    config["homology"] = {"exact_below": 40, "exact_max_rows": 50_000} | config["homology"]
    for name in args.datasets:
        print(json.dumps(verify(name, config["datasets"][name], config, args)), flush=True)


if __name__ == "__main__":
    main()
