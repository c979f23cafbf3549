"""Splits stage: train/val/test assignments per seed, and their homology-leakage audit."""

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from mrnaprobe import MrnaProbeError

FOLDS = ("train", "val", "test")


def random_folds(n: int, seed: int, fractions) -> np.ndarray:
    """Fold per row as mRNABench splits: train vs rest, then rest halved, both with `seed`."""
    rows = np.arange(n)
    train, rest = train_test_split(rows, train_size=fractions[0], random_state=seed)
    val_share = fractions[1] / (fractions[1] + fractions[2])
    val, test = train_test_split(rest, train_size=val_share, random_state=seed)
    folds = np.empty(n, dtype=object)
    folds[train], folds[val], folds[test] = "train", "val", "test"
    return folds


def group_folds(groups: np.ndarray, seed: int, fractions) -> np.ndarray:
    """Fold per row keeping groups whole: groups in seeded random order fill train, val, test."""
    names, inverse, sizes = np.unique(groups, return_inverse=True, return_counts=True)
    order = np.random.default_rng(seed).permutation(len(names))
    filled = np.cumsum(sizes[order]) / len(groups)
    cuts = np.cumsum(fractions)[:2]
    group_fold = np.empty(len(names), dtype=object)
    group_fold[order] = np.where(filled <= cuts[0] + 1e-9, "train",
                                 np.where(filled <= cuts[1] + 1e-9, "val", "test"))  # fmt: skip
    return group_fold[inverse]


def make_split(kind: str, dataset: pd.DataFrame, clusters: pd.DataFrame, seeds, fractions):
    """Split table (id, seed, fold) for all seeds of one split type."""
    if kind == "random":
        folds = {seed: random_folds(len(dataset), seed, fractions) for seed in seeds}
    elif kind == "homology":
        groups = dataset[["id"]].merge(clusters, on="id", how="left")["cluster"]
        if groups.isna().any():
            raise MrnaProbeError(
                f"clusters table lacks id {dataset['id'][groups.isna()].iloc[0]!r}"
            )
        folds = {seed: group_folds(groups.to_numpy(), seed, fractions) for seed in seeds}
    elif kind == "gene":
        if "gene" not in dataset:
            raise MrnaProbeError("split 'gene' needs a gene column in the dataset catalog entry")
        genes = dataset["gene"].fillna(dataset["id"]).to_numpy()
        folds = {seed: group_folds(genes, seed, fractions) for seed in seeds}
    else:
        raise MrnaProbeError(f"unknown split type {kind!r}")
    split = pd.concat(
        [pd.DataFrame({"id": dataset["id"], "seed": seed, "fold": f}) for seed, f in folds.items()],
        ignore_index=True,
    )
    check_folds(split)
    return split.astype({"seed": "int64", "fold": "string"})


def check_folds(split: pd.DataFrame) -> None:
    """Raise when a seed leaves a fold empty (the dataset is too small for the split)."""
    counts = (
        split.groupby(["seed", "fold"])
        .size()
        .unstack(fill_value=0)
        .reindex(columns=list(FOLDS), fill_value=0)
    )
    empty = counts[(counts == 0).any(axis=1)]
    if len(empty):
        seed = empty.index[0]
        fold = next(f for f in FOLDS if empty.loc[seed, f] == 0)
        raise MrnaProbeError(
            f"split seed {seed}: fold {fold!r} is empty "
            f"({', '.join(f'{f}={int(n)}' for f, n in counts.loc[seed].items())}); "
            "the dataset is too small or one cluster/gene holds most rows"
        )


def audit(split: pd.DataFrame, hits: pd.DataFrame, settings: dict, command: str) -> dict:
    """Per seed: how many val/test rows have a train hit at or above the homology thresholds."""
    report = {
        "min_seq_id": settings["min_seq_id"],
        "coverage": settings["coverage"],
        "cov_mode": settings["cov_mode"],
        "command": command,
        "seeds": {},
    }
    for seed, table in split.groupby("seed", sort=False):
        fold = dict(zip(table["id"], table["fold"], strict=True))
        pairs = hits.assign(qf=hits["query"].map(fold), tf=hits["target"].map(fold))
        entry = {}
        for held_out in ("val", "test"):
            leaks = pairs[(pairs["qf"] == held_out) & (pairs["tf"] == "train")]
            n_held = int((table["fold"] == held_out).sum())
            n_leaky = int(leaks["query"].nunique())
            entry[held_out] = {
                "n": n_held,
                "n_with_train_hit": n_leaky,
                "fraction": round(n_leaky / n_held, 6) if n_held else 0.0,
                "max_identity": float(leaks["fident"].max()) if len(leaks) else None,
            }
        report["seeds"][str(int(seed))] = entry
    tests = report["seeds"].values()
    report["test_violations_max"] = max(e["test"]["n_with_train_hit"] for e in tests)
    report["test_fraction_mean"] = round(float(np.mean([e["test"]["fraction"] for e in tests])), 6)
    return report
