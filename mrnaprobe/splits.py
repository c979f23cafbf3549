"""Splits stage: train/val/test assignments per seed, and their homology-leakage audit.

The splits named as mRNABench names them (random, homologene, kmer, hard_kmer, chromosome)
reproduce its fold for every row and seed (tests/test_split_parity.py): each splits all
rows into train and the rest, then the rest (in the order the first step returned it) into
val and test, with the same seed. The others are mRNAProbe's own.
"""

import logging
import zipfile

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from mrnaprobe import MrnaProbeError
from mrnaprobe.data import target_frame

log = logging.getLogger(__name__)

FOLDS = ("train", "val", "test")
KMER_ROWS_PER_CLUSTER = {"kmer": 100, "hard_kmer": 1000}  # mRNABench's KMeans sizes, k = 3


def two_step_folds(split_rows, n: int, seed: int, fractions) -> np.ndarray:
    """Fold per row from `split_rows(rows, held_share, seed) -> (kept, held)`, run on all rows
    for train vs the rest, then on the rest for val vs test (mRNABench's three-way split)."""
    rest_share = fractions[1] + fractions[2]
    train, rest = split_rows(np.arange(n), rest_share, seed)
    val, test = split_rows(np.asarray(rest), fractions[2] / rest_share, seed)
    folds = np.empty(n, dtype=object)
    folds[train], folds[val], folds[test] = "train", "val", "test"
    return folds


def by_values(split_values, values):
    """A `split_rows` that runs `split_values(values of the rows, share, seed) -> (kept, held)`
    positions and maps them back to rows."""

    def split_rows(rows, share, seed):
        kept, held = split_values(values[rows], share, seed)
        return rows[kept], rows[held]

    return split_rows


def random_folds(n: int, seed: int, fractions) -> np.ndarray:
    """Fold per row as mRNABench's default split: train_test_split(test_size=...) twice."""

    def split_rows(rows, share, seed):
        return train_test_split(rows, test_size=share, random_state=seed)

    try:
        return two_step_folds(split_rows, n, seed, fractions)
    except ValueError as err:
        raise MrnaProbeError(
            f"split seed {seed}: {n} rows are too few for fractions {list(fractions)}"
        ) from err


def gene_group_split(groups: np.ndarray, held_share: float, seed: int):
    """(kept, held) positions keeping gene groups whole: positions in a seeded shuffle each
    bring their whole group (None: the row alone) to the kept side until it holds its quota
    int(n * (1 - held_share)), then to the held side (mRNABench's homology split)."""
    members = {}
    for position, group in enumerate(groups):
        if group is not None:
            members.setdefault(group, []).append(position)
    order = np.arange(len(groups))
    np.random.RandomState(seed).shuffle(order)
    quota = int(len(groups) * (1 - held_share))
    kept, held, placed = [], [], set()
    for position in order:
        group = groups[position]
        if group is not None and group in placed:
            continue
        placed.add(group)
        side = kept if len(kept) < quota else held
        side.extend(members[group] if group is not None else [position])
    return np.array(kept, dtype=int), np.array(held, dtype=int)


def row_gene_groups(genes: pd.Series, gene_groups: dict) -> np.ndarray:
    """Each row's gene group (None where the gene is missing or not in the map)."""
    groups = [gene_groups.get(gene) if pd.notna(gene) else None for gene in genes]
    if unmapped := sum(group is None for group in groups):
        log.info("homologene: %d of %d rows have no gene group (each kept as its own group)",
                 unmapped, len(groups))  # fmt: skip
    row_groups = np.empty(len(groups), dtype=object)
    row_groups[:] = groups
    return row_groups


def kmer_cluster_split(sequences: np.ndarray, held_share: float, seed: int, rows_per_cluster):
    """(kept, held) positions: KMeans (max(2, n // rows_per_cluster) clusters, seeded) on
    3-mer counts; clusters in seeded order go to the held side until it reaches
    int(held_share * n) rows (mRNABench's k-mer split)."""
    from sklearn.cluster import KMeans
    from sklearn.feature_extraction.text import CountVectorizer
    from threadpoolctl import threadpool_limits

    counts = CountVectorizer(analyzer="char", ngram_range=(3, 3)).fit_transform(sequences)
    n_clusters = max(2, len(sequences) // rows_per_cluster)
    try:  # one thread: the same labels (integer counts sum exactly), without oversubscription
        with threadpool_limits(1):
            labels = KMeans(n_clusters, random_state=seed).fit_predict(counts.toarray())
    except ValueError as err:
        raise MrnaProbeError(
            f"split seed {seed}: {len(sequences)} rows are too few for {n_clusters} k-mer clusters"
        ) from err
    order = np.unique(labels)
    np.random.RandomState(seed).shuffle(order)
    target, taken = int(held_share * len(labels)), 0
    held = np.zeros(len(labels), dtype=bool)
    for cluster in order:
        members = labels == cluster
        held |= members & (taken < target)
        taken += int(members.sum())
    return np.flatnonzero(~held), np.flatnonzero(held)


def counts_by_size(values: np.ndarray):
    """Distinct values (missing ones left out) with their counts, largest first, and the
    values smallest first; ties in the order pandas 2.2 (mRNABench's environment) gives them
    in value_counts() and its sort_values(), which pandas 3 no longer does."""
    codes, names = pd.factorize(values)
    counts = np.bincount(codes[codes >= 0], minlength=len(names))
    reverse = np.arange(len(names))[::-1]
    largest = reverse[counts[::-1].argsort(kind="quicksort")][::-1]
    smallest = largest[counts[largest].argsort(kind="quicksort")]
    return names[largest], counts[largest], names[smallest]


def chromosome_split(chromosomes: np.ndarray, held_share: float, seed: int):
    """(kept, held) positions holding out whole chromosomes: in seeded order, a chromosome
    joins the held side while it fits in int(held_share * n) rows; none fitting, the smallest
    (mRNABench's chromosome split; rows without a chromosome stay on the kept side)."""
    if pd.unique(chromosomes).size < 2:
        raise MrnaProbeError(
            f"split 'chromosome': {len(chromosomes)} rows on fewer than 2 chromosomes"
        )
    names, counts, smallest = counts_by_size(chromosomes)
    size = dict(zip(names, counts, strict=True))
    order = list(names)
    np.random.RandomState(seed).shuffle(order)
    target, taken, held = int(held_share * len(chromosomes)), 0, []
    for name in order:
        if taken < target and size[name] <= target - taken:
            held.append(name)
            taken += size[name]
    is_held = pd.Series(chromosomes).isin(held or [smallest[0]]).to_numpy()
    return np.flatnonzero(~is_held), np.flatnonzero(is_held)


def read_gene_group_map(path) -> dict:
    """gene_name -> gene_group from a map CSV (the last row wins for a repeated name, as in
    mRNABench; rows without a gene name are dropped and counted)."""
    table = pd.read_csv(path)
    if missing := {"gene_name", "gene_group"} - set(table.columns):
        raise MrnaProbeError(f"{path}: gene-group map lacks column(s) {sorted(missing)}")
    if dropped := int(table["gene_name"].isna().sum()):
        log.info("%s: %d rows without a gene name dropped", path, dropped)
    table = table.dropna(subset=["gene_name"])
    return dict(zip(table["gene_name"], table["gene_group"], strict=True))


def build_gene_group_map(path, fmt: str, taxid=None, member=None) -> pd.DataFrame:
    """The (gene_name, gene_group) table of one species from a source: `map`, a ready map CSV
    (or its `member` inside a zip archive, matched by file name), or `homologene`, NCBI
    HomoloGene's all-species table (HID, Gene.Symbol, Taxonomy) restricted to `taxid`."""
    if fmt == "homologene":
        table = pd.read_csv(path, sep="\t")
        if missing := {"HID", "Gene.Symbol", "Taxonomy"} - set(table.columns):
            raise MrnaProbeError(f"{path}: HomoloGene table lacks column(s) {sorted(missing)}")
        table = table[table["Taxonomy"] == taxid]
        if table.empty:
            raise MrnaProbeError(f"{path}: no HomoloGene rows of taxonomy {taxid}")
        table = table.rename(columns={"Gene.Symbol": "gene_name", "HID": "gene_group"})
    elif member is not None:
        with zipfile.ZipFile(path) as archive:
            names = [n for n in archive.namelist() if n.rsplit("/", 1)[-1] == member]
            if not names:
                raise MrnaProbeError(f"{path}: the archive holds no {member!r}")
            with archive.open(names[0]) as handle:
                table = pd.read_csv(handle)
    else:
        table = pd.read_csv(path)
    if missing := {"gene_name", "gene_group"} - set(table.columns):
        raise MrnaProbeError(f"{path}: gene-group map lacks column(s) {sorted(missing)}")
    return table[["gene_name", "gene_group"]].reset_index(drop=True)


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
    """KMeans clusters of k-mer frequency profiles (the kmer_profile split's groups)."""
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


def given_folds(dataset: pd.DataFrame, given) -> np.ndarray:
    """Fold per row read from the dataset's own split column: its values mapped by `map` to
    train/val/test (values not in the map: the row is left out, counted); every seed alike."""
    if not given or given["column"] not in dataset:
        column = given["column"] if given else None
        raise MrnaProbeError(f"split 'given' needs the dataset's given_split column ({column!r})")
    values = dataset[given["column"]].astype("string")
    folds = values.map({str(k): v for k, v in given["map"].items()}).to_numpy(dtype=object)
    folds[pd.isna(folds)] = None
    outside = values[pd.isna(folds)].value_counts(dropna=False)
    if len(outside):
        log.info("split given: %d rows left out, value not in the map: %s", int(outside.sum()),
                 ", ".join(f"{k}={v}" for k, v in outside.items()))  # fmt: skip
    return folds


def seed_folds(kind: str, dataset: pd.DataFrame, clusters, options: dict):
    """A function seed -> fold per row (None = row not in this split) for one split type."""
    fractions = options["fractions"]
    if kind == "random":
        return lambda seed: random_folds(len(dataset), seed, fractions)
    if kind in ("homologene", "kmer", "hard_kmer", "chromosome"):
        split_rows = by_values(*mrnabench_splitter(kind, dataset, options))
        return lambda seed: two_step_folds(split_rows, len(dataset), seed, fractions)
    if kind == "kmer_profile":
        settings = options["kmer"]
        return lambda seed: group_folds(
            kmer_groups(dataset["sequence"], settings["k"], settings["clusters"], seed),
            seed,
            fractions,
        )
    if kind in ("homology", "gene", "chromosome_groups"):
        groups = split_groups(kind, dataset, clusters)
        return lambda seed: group_folds(groups, seed, fractions)
    if kind == "given":
        folds = given_folds(dataset, options.get("given"))
        return lambda seed: folds
    if kind in ("compositional", "compositional_random"):
        groups = compositional_groups(dataset, options.get("elements") or {})["group"]
        folds = compositional_folds if kind == "compositional" else same_size_random_folds
        return lambda seed: folds(groups, seed, fractions)
    raise MrnaProbeError(f"unknown split type {kind!r}")


def mrnabench_splitter(kind: str, dataset: pd.DataFrame, options: dict):
    """(split_values, values per row) of mRNABench's homologene, kmer, hard_kmer or
    chromosome split (see by_values)."""
    if kind == "homologene":
        if "gene_groups" not in options:
            raise MrnaProbeError("split 'homologene' needs a gene-group map")
        genes = group_column(dataset, "gene", kind)
        return gene_group_split, row_gene_groups(genes, options["gene_groups"])
    if kind == "chromosome":
        return chromosome_split, group_column(dataset, "chromosome", kind).to_numpy(object)
    rows_per_cluster = KMER_ROWS_PER_CLUSTER[kind]

    def split_values(sequences, share, seed):
        return kmer_cluster_split(sequences, share, seed, rows_per_cluster)

    return split_values, dataset["sequence"].to_numpy(object)


def group_column(dataset: pd.DataFrame, column: str, kind: str) -> pd.Series:
    """The dataset column a split groups by (missing values as None)."""
    if column not in dataset:
        raise MrnaProbeError(f"split {kind!r} needs a {column!r} column in the dataset entry")
    values = dataset[column].astype(object)
    return values.where(values.notna(), None)


def split_groups(kind: str, dataset: pd.DataFrame, clusters):
    """The groups a group split keeps whole, per row (None for the other split types)."""
    if kind == "homology":
        groups = dataset[["id"]].merge(clusters, on="id", how="left")["cluster"]
        if groups.isna().any():
            missing = dataset["id"][groups.isna()].iloc[0]
            raise MrnaProbeError(f"clusters table lacks id {missing!r}")
        return groups.to_numpy()
    if kind in ("gene", "chromosome_groups", "chromosome"):
        column = "gene" if kind == "gene" else "chromosome"
        return group_labels(dataset, column, kind)
    return None


def target_rows(dataset: pd.DataFrame, targets: dict) -> dict:
    """Rows each split is made on: all rows (key None), and for every target with missing
    values its measured rows (mRNABench drops a target's missing rows before splitting)."""
    rows = {None: np.arange(len(dataset))}
    for name, spec in (targets or {}).items():
        present, _ = target_frame(dataset, name, spec)
        if len(present) < len(dataset):
            rows[name] = present
    return rows


def make_split(
    kind: str,
    dataset: pd.DataFrame,
    clusters,
    seeds,
    options: dict,
    targets=None,
    not_computable: list | None = None,
) -> pd.DataFrame:
    """Split table (id, seed, fold, target) for all seeds of one split type; rows outside
    the split left out. target <NA>: the folds of all rows; a target's name: that target's
    own folds, made on its measured rows only (see target_rows).

    `options`: fractions (train, val, test), kmer {k, clusters} (kmer_profile), elements
    (compositional), gene_groups {gene_name: group} (homologene), given {column, map}.
    A seed whose split cannot be made (a fold left empty) raises, or with a
    `not_computable` list is appended to it ({seed, target, reason}) and left out.
    """
    tables = []
    for target, rows in target_rows(dataset, targets).items():
        subset = dataset.iloc[rows].reset_index(drop=True)
        folds_for = seed_folds(kind, subset, clusters, options)
        groups = split_groups(kind, subset, clusters)
        cause = composition_cause(kind, subset, options)
        for seed in seeds:
            try:
                folds = folds_for(seed)
                kept = pd.notna(folds)
                table = pd.DataFrame({"id": subset["id"][kept], "seed": seed, "fold": folds[kept]})
                check_folds(table, groups, target, seed, cause)
            except MrnaProbeError as err:
                if not_computable is None:
                    raise
                log.warning("split %s not computable: %s", kind, err)
                not_computable.append({"seed": int(seed), "target": target, "reason": str(err)})
                continue
            tables.append(table.assign(target=target))
    columns = {"seed": "int64", "fold": "string", "target": "string"}
    if not tables:
        return pd.DataFrame({"id": [], **{c: pd.Series(dtype=t) for c, t in columns.items()}})
    return pd.concat(tables, ignore_index=True).astype(columns)


def split_status(not_computable, n_seeds: int) -> str:
    """ok, partial (some seeds or targets not computable) or not computable (no seed of the
    folds of all rows)."""
    if not not_computable:
        return "ok"
    whole = {entry["seed"] for entry in not_computable if entry["target"] is None}
    return "not computable" if len(whole) == n_seeds else "partial"


def composition_cause(kind: str, dataset: pd.DataFrame, options: dict):
    """Why a compositional split's fold can be empty: its element groups' sizes."""
    if not kind.startswith("compositional"):
        return None
    sizes = compositional_groups(dataset, options.get("elements") or {})["group"].value_counts()
    return "element groups " + ", ".join(f"{g or 'excluded'}={n}" for g, n in sizes.items())


def check_folds(split: pd.DataFrame, groups=None, target=None, seed=None, cause=None) -> None:
    """Raise when a seed leaves a fold empty (the dataset is too small for the split, or one
    of the `groups` the split keeps whole holds most rows: their largest sizes are named)."""
    counts = (
        split.groupby(["seed", "fold"])
        .size()
        .unstack(fill_value=0)
        .reindex(index=[seed] if seed is not None else None, columns=list(FOLDS), fill_value=0)
    )
    empty = counts[(counts == 0).any(axis=1)]
    if len(empty):
        seed = empty.index[0]
        fold = next(f for f in FOLDS if empty.loc[seed, f] == 0)
        where = f" (rows measured for target {target!r})" if target else ""
        if cause is None and groups is None:
            cause = "the dataset is too small"
        elif cause is None:
            sizes = pd.Series(groups).value_counts().to_numpy()
            cause = (f"{len(split) // max(1, len(counts))} rows in {len(sizes)} groups kept whole, "
                     f"the largest {', '.join(map(str, sizes[:5]))} rows")  # fmt: skip
        raise MrnaProbeError(
            f"split seed {seed}{where}: fold {fold!r} is empty "
            f"({', '.join(f'{f}={int(n)}' for f, n in counts.loc[seed].items())}); {cause}"
        )


def audit(split: pd.DataFrame, hits: pd.DataFrame, settings: dict, command: str) -> dict:
    """Per seed: how many val/test rows have a train hit at or above the homology thresholds
    (on the folds of all rows: a split's `target` <NA> rows)."""
    if "target" in split:
        split = split[split["target"].isna()]
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
    report["test_violations_max"] = max(
        (e["test"]["n_with_train_hit"] for e in tests), default=None
    )
    fractions = [e["test"]["fraction"] for e in tests]
    report["test_fraction_mean"] = round(float(np.mean(fractions)), 6) if fractions else None
    return report


def compositional_summary(dataset: pd.DataFrame, elements: dict, targets: dict) -> dict:
    """Rows and mean of each regression target per element group ('' = excluded)."""
    groups = compositional_groups(dataset, elements)["group"].replace("", "excluded")
    columns = [spec.get("column", name) for name, spec in targets.items()
               if spec["task"] == "regression"]  # fmt: skip
    sizes = groups.value_counts()
    means = dataset[columns].groupby(groups).mean() if columns else None
    return {
        group: {"n": int(n), **{f"mean_{c}": float(means.loc[group, c]) for c in columns}}
        for group, n in sizes.items()
    }
