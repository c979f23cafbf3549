"""Splits stage: train/val/test assignments per seed, and their homology-leakage audit."""

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from mrnaprobe import MrnaProbeError

FOLDS = ("train", "val", "test")


def random_folds(n: int, seed: int, fractions) -> np.ndarray:
    """Fold per row as mRNABench splits: train vs rest, then rest halved, both with `seed`."""
    rows = np.arange(n)
    val_share = fractions[1] / (fractions[1] + fractions[2])
    try:
        train, rest = train_test_split(rows, train_size=fractions[0], random_state=seed)
        val, test = train_test_split(rest, train_size=val_share, random_state=seed)
    except ValueError as err:
        raise MrnaProbeError(
            f"split seed {seed}: {n} rows are too few for fractions {list(fractions)}"
        ) from err
    folds = np.empty(n, dtype=object)
    folds[train], folds[val], folds[test] = "train", "val", "test"
    return folds


def group_folds(groups: np.ndarray, seed: int, fractions) -> np.ndarray:
    """Fold per row keeping groups whole: groups in seeded order go where their middle falls."""
    names, inverse, sizes = np.unique(groups, return_inverse=True, return_counts=True)
    order = np.random.default_rng(seed).permutation(len(names))
    middle = (np.cumsum(sizes[order]) - sizes[order] / 2) / len(groups)
    cuts = np.cumsum(fractions)[:2]
    group_fold = np.empty(len(names), dtype=object)
    group_fold[order] = np.where(middle < cuts[0], "train",
                                 np.where(middle < cuts[1], "val", "test"))  # fmt: skip
    return group_fold[inverse]


def group_labels(dataset: pd.DataFrame, column: str, kind: str) -> np.ndarray:
    """A dataset column used as groups; rows without a value form groups of their own."""
    if column not in dataset:
        raise MrnaProbeError(f"split {kind!r} needs a {column!r} column in the dataset entry")
    return dataset[column].astype("string").fillna(dataset["id"]).to_numpy()


def kmer_groups(sequences, k: int, clusters: int, seed: int) -> np.ndarray:
    """KMeans clusters of k-mer frequency profiles (mRNABench's k-mer split groups)."""
    from sklearn.cluster import KMeans

    from mrnaprobe.embed import kmer_counts

    counts = kmer_counts(list(sequences), [k])
    profiles = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    n_clusters = min(clusters, len(profiles))
    return KMeans(n_clusters, n_init=3, random_state=seed).fit_predict(profiles)


def element_text(dataset: pd.DataFrame, region, name: str) -> pd.Series:
    """The text an element's regexes search: the sequence, a slice of it, or a column."""
    if region is None:
        return dataset["sequence"]
    if isinstance(region, dict):
        return dataset["sequence"].str.slice(region.get("start"), region.get("end"))
    if region not in dataset:
        raise MrnaProbeError(
            f"compositional.{name}.region: column {region!r} is not in the dataset"
        )
    return dataset[region].astype("string").str.upper().str.replace("U", "T")


def element_values(column: pd.Series, values, name: str, key: str) -> pd.Series:
    """Rows whose `column` value is one of `values` (numbers compared as numbers)."""
    values = values if isinstance(values, list) else [values]
    if pd.api.types.is_numeric_dtype(column):  # booleans too (True == 1)
        if not all(isinstance(v, int | float) for v in values):
            raise MrnaProbeError(
                f"compositional.{name}.{key}: {values} are not numbers "
                f"(column {column.name!r} is numeric)"
            )
        return column.isin(values)
    return column.astype("string").isin([str(v) for v in values])


def element_flags(dataset: pd.DataFrame, element: dict, name: str = "element") -> pd.Series:
    """1.0 where the row has the element (positive), 0.0 where it lacks it, else NaN.

    An element is either two regexes searched in the sequence (or in its `region`: a column,
    or a slice {start, end}), or a `column` whose `positive`/`negative` values mark the rows.
    """
    flags = pd.Series(np.nan, index=dataset.index)
    if "column" in element:
        if (column := element["column"]) not in dataset:
            raise MrnaProbeError(f"compositional.{name}.column: {column!r} is not in the dataset")
        negative = element_values(dataset[column], element["negative"], name, "negative")
        positive = element_values(dataset[column], element["positive"], name, "positive")
    else:
        text = element_text(dataset, element.get("region"), name)
        negative = text.str.contains(element["negative"], regex=True, na=False)
        positive = text.str.contains(element["positive"], regex=True, na=False)
    flags[negative.to_numpy(dtype=bool)] = 0.0
    flags[positive.to_numpy(dtype=bool)] = 1.0
    return flags


def compositional_groups(dataset: pd.DataFrame, elements: dict) -> pd.DataFrame:
    """Element flags A and B per row, and the group (e.g. 'A+B-') each row belongs to."""
    if len(elements) != 2:
        raise MrnaProbeError(
            f"split 'compositional' needs exactly two elements, got {list(elements)}"
        )
    flags = pd.DataFrame({name: element_flags(dataset, spec, name)
                          for name, spec in elements.items()})  # fmt: skip
    a, b = (flags[name] for name in elements)
    groups = ("A" + a.map({1.0: "+", 0.0: "-"}) + "B" + b.map({1.0: "+", 0.0: "-"})).fillna("")
    return flags.assign(group=groups)


def compositional_folds(groups: pd.Series, seed: int, fractions) -> np.ndarray:
    """Test holds A and B together; train and val (seeded, in their ratio) the other groups."""
    folds = np.full(len(groups), None, dtype=object)
    folds[(groups == "A+B+").to_numpy()] = "test"
    pool = np.flatnonzero(((groups != "A+B+") & (groups != "")).to_numpy())
    share = fractions[0] / (fractions[0] + fractions[1])
    train, val = train_test_split(pool, train_size=share, random_state=seed)
    folds[train], folds[val] = "train", "val"
    return folds


def same_size_random_folds(groups: pd.Series, seed: int, fractions) -> np.ndarray:
    """The compositional split's control: a random test set of the same size, same rows."""
    folds = np.full(len(groups), None, dtype=object)
    pool = np.random.default_rng(seed).permutation(np.flatnonzero((groups != "").to_numpy()))
    n_test = int((groups == "A+B+").sum())
    share = fractions[0] / (fractions[0] + fractions[1])
    train, val = train_test_split(pool[n_test:], train_size=share, random_state=seed)
    folds[pool[:n_test]], folds[train], folds[val] = "test", "train", "val"
    return folds


def seed_folds(kind: str, dataset: pd.DataFrame, clusters, options: dict):
    """A function seed -> fold per row (None = row not in this split) for one split type."""
    fractions = options["fractions"]
    if kind == "random":
        return lambda seed: random_folds(len(dataset), seed, fractions)
    if kind == "homology":
        groups = dataset[["id"]].merge(clusters, on="id", how="left")["cluster"]
        if groups.isna().any():
            missing = dataset["id"][groups.isna()].iloc[0]
            raise MrnaProbeError(f"clusters table lacks id {missing!r}")
        return lambda seed: group_folds(groups.to_numpy(), seed, fractions)
    if kind in ("gene", "chromosome"):
        groups = group_labels(dataset, kind, kind)
        return lambda seed: group_folds(groups, seed, fractions)
    if kind == "kmer":
        settings = options["kmer"]
        return lambda seed: group_folds(
            kmer_groups(dataset["sequence"], settings["k"], settings["clusters"], seed),
            seed,
            fractions,
        )
    if kind in ("compositional", "compositional_random"):
        groups = compositional_groups(dataset, options.get("elements") or {})["group"]
        folds = compositional_folds if kind == "compositional" else same_size_random_folds
        return lambda seed: folds(groups, seed, fractions)
    raise MrnaProbeError(f"unknown split type {kind!r}")


def make_split(kind: str, dataset: pd.DataFrame, clusters, seeds, options: dict) -> pd.DataFrame:
    """Split table (id, seed, fold) for all seeds of one split type; rows outside it left out.

    `options`: fractions (train, val, test), kmer {k, clusters}, elements (compositional).
    """
    folds_for = seed_folds(kind, dataset, clusters, options)
    tables = []
    for seed in seeds:
        folds = folds_for(seed)
        kept = pd.notna(folds)
        tables.append(pd.DataFrame({"id": dataset["id"][kept], "seed": seed, "fold": folds[kept]}))
    split = pd.concat(tables, ignore_index=True)
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


def compositional_summary(dataset: pd.DataFrame, elements: dict, targets: dict) -> dict:
    """Rows and mean of each regression target per element group ('' = excluded)."""
    groups = compositional_groups(dataset, elements)["group"].replace("", "excluded")
    columns = [spec.get("column", name) for name, spec in targets.items()
               if spec["task"] == "regression"]  # fmt: skip
    table = dataset[columns].groupby(groups).agg(["size", "mean"])
    return {
        group: {"n": int(row.iloc[0]), **{f"mean_{c}": float(row[(c, "mean")]) for c in columns}}
        for group, row in table.iterrows()
    }
