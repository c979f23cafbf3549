"""Report stage: probe tables into metrics, a seed summary, and the tables and figures a paper
reader needs (leaderboard, splits, model families, size scaling, per-label, statistics).

Summary figures and tables use each dataset's canonical split (`canonical_split`, default the
first of its split list) and name it; the split-comparison figures use every split.
"""

from pathlib import Path

import numpy as np
import pandas as pd

from mrnaprobe import MrnaProbeError
from mrnaprobe.provenance import read_json

KEYS = ["dataset", "target", "task", "label", "model", "split", "fold", "metric"]
#: The headline metric of a task: macro AUPRC for multilabel targets (the micro one is
#: dominated by the most frequent labels), AUPRC for binary, Pearson r for regression.
HEADLINE = {"regression": "pearson", "binary": "auprc", "multilabel": "auprc_macro"}
Z95 = 1.96
#: Splits compared by the leakage figure, the first being the leaky reference.
LEAKAGE_SPLITS = ("random", "homologene", "homology")
SCORE_LABEL = "test Pearson r / AUPRC (macro for multilabel)"

# Pre-training objective and molecule of each catalog `family` (figures d and f).
FAMILY_PRETRAINING = {
    "baseline": ("baseline", "none"),
    "random-init": ("baseline", "none"),
    "nucleotide-transformer": ("masked-LM", "DNA"),
    "dnabert2": ("masked-LM", "DNA"),
    "dnabert-s": ("contrastive", "DNA"),
    "caduceus": ("masked-LM", "DNA"),
    "hyenadna": ("causal-LM", "DNA"),
    "evo2": ("causal-LM", "DNA"),
    "rna-fm": ("masked-LM", "RNA"),
    "rinalmo": ("masked-LM", "RNA"),
    "utr-lm": ("masked-LM", "RNA"),
    "splicebert": ("masked-LM", "RNA"),
    "ernie-rna": ("masked-LM", "RNA"),
    "rna-msm": ("masked-LM", "RNA"),
    "3utrbert": ("masked-LM", "RNA"),
    "orthrus": ("contrastive", "RNA"),
}


# --------------------------------------------------------------------------- tables


def canonical_splits(datasets: dict, default_splits: list) -> dict:
    """dataset -> the split its headline numbers use (`canonical_split`, default the first of
    its `splits`); raises when that split is not one the dataset is probed on."""
    canonical = {}
    for name, entry in datasets.items():
        splits = entry.get("splits", default_splits)
        canonical[name] = entry.get("canonical_split", splits[0])
        if canonical[name] not in splits:
            raise MrnaProbeError(
                f"config key datasets.{name}.canonical_split: {canonical[name]!r} is not one "
                f"of its splits ({', '.join(splits)})"
            )
    return canonical


def collect(paths, chunk: int = 2000) -> pd.DataFrame:
    """All probe rows in one frame, in a stable order (label "" where a table has none).
    The tables are read in parallel, `chunk` at a time as one pyarrow dataset (5x faster than
    one by one; chunks bound the memory that Arrow holds per table)."""
    import pyarrow.dataset

    paths = list(map(str, paths))
    metrics = pd.concat(
        [pyarrow.dataset.dataset(paths[i : i + chunk], format="parquet").to_table().to_pandas()
         for i in range(0, len(paths), chunk)],
        ignore_index=True,
    )  # fmt: skip
    for column in ("label", "status"):  # tables older than these columns
        if column not in metrics:
            metrics[column] = ""
        metrics[column] = metrics[column].fillna("")
    return metrics.sort_values([*KEYS, "seed"], kind="stable").reset_index(drop=True)


def mean_ci(grouped, ddof: int) -> pd.DataFrame:
    """Mean, 95% CI half-width (1.96 x std with `ddof` / sqrt(n); 0 for one value) and n of
    each group of a grouped Series."""
    table = pd.DataFrame(
        {"mean": grouped.mean(), "std": grouped.std(ddof=ddof), "n": grouped.count()}
    )
    table["ci95"] = Z95 * table["std"].fillna(0.0) / np.sqrt(table["n"])
    return table.drop(columns="std").reset_index()


#: The `given` split's note: its folds are the dataset's own, the same for every seed.
GIVEN_NOTE = "given split: the same folds for every seed, which vary nothing for the probe"


def summarise(metrics: pd.DataFrame, ddof: int = 1) -> pd.DataFrame:
    """Mean and 95% CI over seeds per dataset x target x label x model x split x fold x
    metric; `ddof` (the standard deviation's) is recorded in every row. `note`: why a cell is
    n/a (no seed's split could be made) or stands on fewer seeds, or, for the `given` split,
    that seeds vary nothing (no CI: the seeds' spread would be a fake one)."""
    summary = mean_ci(metrics.groupby(KEYS, sort=True)["value"], ddof)
    summary = summary.rename(columns={"n": "n_seeds"}).assign(ddof=ddof)
    status = metrics["status"] if "status" in metrics else pd.Series("", index=metrics.index)
    failed = metrics.assign(status=status)[status != ""]
    seeds = metrics.groupby(KEYS, sort=True)["seed"].nunique().rename("seeds")
    reasons = failed.groupby(KEYS, sort=True).agg(failed=("seed", "nunique"),
                                                  reason=("status", "first"))  # fmt: skip
    notes = summary.join(seeds, on=KEYS).join(reasons, on=KEYS)
    partial = notes["failed"].fillna(0).astype(int)
    summary["note"] = np.where(
        partial == 0,
        "",
        np.where(partial == notes["seeds"], "n/a: ", "n/a in " + partial.astype(str) + " of "
                 + notes["seeds"].astype(str) + " seeds: ") + notes["reason"].fillna(""),
    )  # fmt: skip
    given = summary["split"] == "given"
    summary.loc[given, "ci95"] = np.nan
    summary.loc[given & (summary["note"] == ""), "note"] = GIVEN_NOTE
    return summary


def read_summary(path) -> pd.DataFrame:
    """summary.csv as summarise wrote it (label "" for whole targets, note "" where none)."""
    summary = pd.read_csv(path, dtype={"label": str, "note": str})
    if "note" not in summary:
        summary["note"] = ""
    return summary.fillna({"label": "", "note": ""})


def headline(summary: pd.DataFrame, canonical: dict | None = None, fold="test"):
    """Each task's headline metric (HEADLINE) on one fold, at each dataset's canonical split
    (`canonical`: dataset -> split; None keeps every split); adds `task_label`."""
    rows = summary[
        (summary["fold"] == fold)
        & (summary["label"] == "")
        & (summary["metric"] == summary["task"].map(HEADLINE))
    ]
    if canonical is not None:
        rows = rows[rows["split"] == rows["dataset"].map(canonical)]
    label = rows["dataset"] + " / " + rows["target"] + " (" + rows["metric"] + ")"
    return rows.assign(task_label=label).reset_index(drop=True)


def model_info(models: dict, sidecars) -> pd.DataFrame:
    """One row per model: family, pre-training objective and molecule, and its parameter
    count: as loaded (the embed sidecars' `run.params`) where any sidecar has one, else the
    catalog's `params` (`params_source` says which; none for weightless baselines)."""
    loaded = {}
    for sidecar in sidecars:
        if params := (sidecar.get("run") or {}).get("params"):
            loaded[sidecar["model"]] = int(params)
    rows = []
    for name, spec in models.items():
        family = (spec or {}).get("family", "other")
        objective, molecule = FAMILY_PRETRAINING.get(family, ("other", "other"))
        catalog = (spec or {}).get("params")
        source = "loaded" if name in loaded else "catalog" if catalog else ""
        rows.append({"model": name, "family": family, "objective": objective,
                     "molecule": molecule, "params": loaded.get(name, catalog),
                     "params_source": source})  # fmt: skip
    return pd.DataFrame(rows).astype({"params": "Int64"})


def annotate(rows: pd.DataFrame, info: pd.DataFrame, datasets: dict) -> pd.DataFrame:
    """Headline rows with each model's family, objective, molecule and params, and each
    task's `task_family` and `resolution` (absent: the dataset name and "transcript")."""
    rows = rows.merge(info, on="model", how="left")
    for column in ("family", "objective", "molecule"):
        rows[column] = rows[column].fillna("other")
    entry = rows["dataset"].map(lambda d: datasets.get(d, {}))
    return rows.assign(
        task_family=[e.get("task_family", d) for e, d in zip(entry, rows["dataset"], strict=True)],
        resolution=[e.get("resolution", "transcript") for e in entry],
    )


def markdown(table: pd.DataFrame) -> str:
    """A frame as a markdown table (index not shown)."""
    cells = table.astype(str)
    lines = ["| " + " | ".join(cells.columns) + " |", "|" + "---|" * len(cells.columns)]
    lines += ["| " + " | ".join(row) + " |" for row in cells.to_numpy()]
    return "\n".join(lines) + "\n"


def cell_text(mean: float, ci: float) -> str:
    """A table cell: "mean ± CI", the mean alone where no CI applies, "n/a" for no value."""
    if not np.isfinite(mean):
        return "n/a"
    return f"{mean:.3f} ± {ci:.3f}" if np.isfinite(ci) else f"{mean:.3f}"


def notes_markdown(rows: pd.DataFrame) -> str:
    """The notes of headline rows (n/a cells and their reasons, given splits), one line each."""
    noted = rows[rows["note"] != ""] if "note" in rows else rows.iloc[:0]
    lines = [f"- {task} [{split}], {model}: {note}"
             for task, split, model, note in noted[["task_label", "split", "model", "note"]]
             .itertuples(index=False)]  # fmt: skip
    return "\nNotes:\n" + "\n".join(lines) + "\n" if lines else ""


def leaderboard(rows: pd.DataFrame, shown=None) -> pd.DataFrame:
    """Tasks x models, "mean ± CI" of the headline test metric, with the split each row came
    from; `shown`: the model columns, in order (default all, by name)."""
    cells = rows.assign(cell=[cell_text(m, c) for m, c in zip(rows["mean"], rows["ci95"],
                                                              strict=True)])  # fmt: skip
    table = cells.pivot(index=["task_label", "split"], columns="model", values="cell")
    table = table[list(shown) if shown is not None else sorted(table.columns)]
    table.columns.name = None
    return table.fillna("").reset_index().rename(columns={"task_label": "task"})


def leaderboard_markdown(table: pd.DataFrame, n_models: int) -> str:
    """The leaderboard with its legend (metrics, interval, which models are shown)."""
    shown = len(table.columns) - 2
    note = (
        "Headline test metric per task at its dataset's canonical split (column `split`): "
        "Pearson r for regression, AUPRC for binary and **macro AUPRC for multilabel** "
        "targets; mean ± 95% CI (1.96 x SE) over seeds."
    )
    if shown < n_models:
        note += f" {shown} of {n_models} models: the best-ranked of each family (ranks.csv)."
    return note + "\n\n" + markdown(table)


def ranks(rows: pd.DataFrame) -> pd.DataFrame:
    """Mean rank of each model across tasks (1 = best headline score on a task; ties share
    the average rank), with the number of tasks and the mean score; best first."""
    rank = rows.groupby("task_label")["mean"].rank(ascending=False, method="average")
    table = (
        rows.assign(rank=rank)
        .groupby("model")
        .agg(mean_rank=("rank", "mean"), n_tasks=("rank", "count"), mean_score=("mean", "mean"))
    )
    return table.sort_values(["mean_rank", "mean_score"], ascending=[True, False]).reset_index()


def representatives(ranked: pd.DataFrame, info: pd.DataFrame, top: int) -> list:
    """The models a figure names: all (in rank order) when there are at most `top`, else the
    best-ranked model of each family."""
    models = ranked["model"].tolist()
    if len(models) <= top:
        return models
    family = ranked["model"].map(info.set_index("model")["family"]).fillna("other")
    return ranked.loc[~family.duplicated(), "model"].tolist()


def leakage_table(audits) -> pd.DataFrame:
    """One row per dataset x split x seed x held-out fold from the splits' audit reports;
    a seed whose split could not be made has its test row with the reason as `status`."""
    rows = [
        {"dataset": a["dataset"], "split": a["split"], "seed": int(seed), "fold": fold,
         **counts, "min_seq_id": a["min_seq_id"], "coverage": a["coverage"],
         "command": a["command"], "status": ""}
        for a in audits
        for seed, folds in a["seeds"].items()
        for fold, counts in folds.items()
    ]  # fmt: skip
    rows += [
        {"dataset": a["dataset"], "split": a["split"], "seed": entry["seed"], "fold": "test",
         "min_seq_id": a["min_seq_id"], "coverage": a["coverage"], "command": a["command"],
         "status": f"n/a: {entry['reason']}"}
        for a in audits
        for entry in a.get("not_computable") or ()
        if entry["target"] is None
    ]  # fmt: skip
    return pd.DataFrame(rows).sort_values(["dataset", "split", "fold", "seed"], kind="stable")


def split_table(summary: pd.DataFrame, splits) -> pd.DataFrame:
    """Headline test score of each model x task under several split types side by side: one
    column per split of `splits` (NaN where a dataset lacks it), rows that have the first
    split and at least one other, and `<first> - <other>` differences."""
    splits = list(splits)
    columns = ["dataset", "target", "metric", "model", *splits]
    rows = headline(summary)
    rows = rows[rows["split"].isin(splits)]
    if rows.empty:
        return pd.DataFrame(columns=columns)
    table = rows.pivot_table(
        index=["dataset", "target", "metric", "model"], columns="split", values="mean"
    ).reindex(columns=splits)
    table = table[table[splits[0]].notna() & table[splits[1:]].notna().any(axis=1)]
    table = table.reset_index()
    table.columns.name = None
    for other in splits[1:]:
        table[f"{splits[0]} - {other}"] = table[splits[0]] - table[other]
    return table


def best_checkpoints(rows: pd.DataFrame) -> pd.DataFrame:
    """Table-2 style, from annotated headline rows: per split, task family and model family,
    the best checkpoint's mean score over the family's tasks (Pearson r, AUPRC in %)."""
    rows = rows.assign(
        score=np.where(rows["metric"] == "pearson", rows["mean"], 100 * rows["mean"])
    )
    keys = ["split", "task_family", "family"]
    per_model = rows.groupby([*keys, "model"], sort=True)["score"].mean().reset_index()
    best = per_model.sort_values("score", ascending=False, kind="stable").groupby(keys).head(1)
    return best.sort_values(keys, kind="stable").reset_index(drop=True)


def best_checkpoints_markdown(table: pd.DataFrame) -> str:
    """One markdown table per split: model families x task families, best score (checkpoint)."""
    sections = []
    for split, part in table.groupby("split", sort=True):
        cells = part.assign(cell=[f"{s:.3g} ({m})" for s, m in zip(part["score"], part["model"],
                                                                   strict=True)])  # fmt: skip
        grid = cells.pivot(index="family", columns="task_family", values="cell").fillna("")
        sections.append(f"### {split} split\n\n" + markdown(grid.reset_index()))
    note = (
        "Best checkpoint per model family: test Pearson r (regression) or AUPRC % "
        "(classification; macro AUPRC for multilabel)."
    )
    return note + "\n\n" + "\n".join(sections)


def group_means(rows: pd.DataFrame, by: list, ddof: int) -> pd.DataFrame:
    """Mean headline score and 95% CI over the model x task cells of each group."""
    return mean_ci(rows.groupby(by, sort=True)["mean"], ddof).rename(columns={"mean": "score"})


def scaling_table(rows: pd.DataFrame) -> pd.DataFrame:
    """From annotated headline rows: each model's mean score over the tasks of each task
    family, with its family, parameter count (NaN for weightless baselines) and the splits
    the scores came from."""
    keys = ["task_family", "family", "model"]
    table = rows.groupby(keys, sort=True).agg(
        score=("mean", "mean"), n_tasks=("mean", "count"), params=("params", "first"),
        splits=("split", lambda splits: " ".join(sorted(set(splits)))),
    )  # fmt: skip
    return table.reset_index()


def per_label_table(summary: pd.DataFrame) -> pd.DataFrame:
    """Per-label test AUROC and AUPRC (mean and 95% CI over seeds) and the label's test
    prevalence, for every multilabel target, model and split."""
    rows = summary[(summary["label"] != "") & (summary["fold"] == "test")]
    keys = ["dataset", "target", "label", "model", "split"]
    if rows.empty:  # no multilabel target in the run
        return pd.DataFrame(columns=keys)
    table = rows.pivot_table(index=keys, columns="metric", values=["mean", "ci95"])
    columns = {}
    for metric in ("auroc", "auprc"):
        columns[metric], columns[f"{metric}_ci95"] = table["mean", metric], table["ci95", metric]
    columns["prevalence"] = table["mean", "prevalence"]
    return pd.DataFrame(columns).reset_index()


# --------------------------------------------------------------------------- statistics


def seed_scores(metrics: pd.DataFrame, canonical: dict) -> pd.DataFrame:
    """Headline test value of every task x model x seed at each dataset's canonical split:
    columns task, model, seed, value."""
    rows = metrics[
        (metrics["fold"] == "test")
        & (metrics["label"] == "")
        & (metrics["metric"] == metrics["task"].map(HEADLINE))
        & (metrics["split"] == metrics["dataset"].map(canonical))
    ]
    task = rows["dataset"] + " / " + rows["target"] + " (" + rows["metric"] + ")"
    return pd.DataFrame(
        {"task": task, "model": rows["model"], "seed": rows["seed"], "value": rows["value"]}
    )


def holm(p: np.ndarray) -> np.ndarray:
    """Holm's step-down adjusted p-values (family-wise error over all of `p`)."""
    p = np.asarray(p, dtype=float)
    order = np.argsort(p)
    scaled = (len(p) - np.arange(len(p))) * p[order]
    adjusted = np.empty_like(p)
    adjusted[order] = np.minimum(np.maximum.accumulate(scaled), 1.0)
    return adjusted


def pairwise(scores: pd.DataFrame, alpha: float = 0.05) -> pd.DataFrame:
    """Every pair of models compared over the task x seed pairs both have: Wilcoxon
    signed-rank test (two-sided, scipy) of the score differences, Holm-adjusted over all
    pairs; `wins` is the fraction of pairs where model_a scores higher."""
    from scipy.stats import wilcoxon

    wide = scores.pivot_table(index=["task", "seed"], columns="model", values="value")
    models, values = list(wide.columns), wide.to_numpy()
    rows = []
    for i, a in enumerate(models):
        for j in range(i + 1, len(models)):
            both = ~np.isnan(values[:, i]) & ~np.isnan(values[:, j])
            diff = values[both, i] - values[both, j]
            p = wilcoxon(diff).pvalue if np.any(diff != 0) else 1.0
            rows.append({"model_a": a, "model_b": models[j], "n_pairs": int(both.sum()),
                         "median_difference": float(np.median(diff)) if len(diff) else np.nan,
                         "wins": float(np.mean(diff > 0)) if len(diff) else np.nan,
                         "p": float(p)})  # fmt: skip
    table = pd.DataFrame(rows, columns=["model_a", "model_b", "n_pairs", "median_difference",
                                        "wins", "p"])  # fmt: skip
    table["p_holm"] = holm(table["p"].to_numpy()) if len(table) else []
    table["significant"] = table["p_holm"] < alpha
    return table


def friedman(scores: pd.DataFrame) -> tuple[float, float, int]:
    """Friedman test over the tasks every model has (seed means): (statistic, p, n tasks);
    NaN with fewer than 3 models or 2 such tasks."""
    from scipy.stats import friedmanchisquare

    cells = scores.groupby(["task", "model"])["value"].mean().unstack().dropna()
    if cells.shape[1] < 3 or cells.shape[0] < 2:
        return np.nan, np.nan, len(cells)
    result = friedmanchisquare(*cells.to_numpy().T)
    return float(result.statistic), float(result.pvalue), len(cells)


# --------------------------------------------------------------------------- figures


def pyplot():
    """matplotlib's pyplot on the Agg backend (no display)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig, path) -> None:
    """Write a figure as PNG at `path` and as PDF beside it, without timestamps (reproducible)."""
    fig.savefig(path, dpi=150, bbox_inches="tight", metadata={"Software": None})
    fig.savefig(Path(path).with_suffix(".pdf"), bbox_inches="tight",
                metadata={"Creator": None, "Producer": None, "CreationDate": None})  # fmt: skip
    pyplot().close(fig)


def family_colours(families) -> dict:
    """A stable colour per model family (tab20, by sorted name)."""
    cmap = pyplot().get_cmap("tab20")
    return {f: cmap(i % 20) for i, f in enumerate(sorted(set(families)))}


def empty_note(ax, what: str) -> None:
    ax.text(0.5, 0.5, f"no {what} in this run", ha="center", va="center", transform=ax.transAxes)


def model_order(info: pd.DataFrame, ranked: pd.DataFrame) -> list:
    """Models grouped by family (families by their best rank), best-ranked first in each."""
    family = info.set_index("model")["family"]
    order = ranked.assign(family=ranked["model"].map(family).fillna("other"))
    first = order.groupby("family")["mean_rank"].transform("min")
    return order.assign(first=first).sort_values(["first", "family", "mean_rank"])["model"].tolist()


def heatmap(rows: pd.DataFrame, ranked: pd.DataFrame, info: pd.DataFrame, path) -> None:
    """Models (grouped by family) x tasks (grouped by task family, named with their split)
    heatmap of the headline test score; values written in the cells while they fit."""
    plt = pyplot()
    columns = rows.sort_values(["task_family", "task_label"]).drop_duplicates("task_label")
    names = [f"{t} [{s}]" for t, s in zip(columns["task_label"], columns["split"], strict=True)]
    table = rows.pivot(index="model", columns="task_label", values="mean")
    table = table.reindex(index=model_order(info, ranked), columns=columns["task_label"])
    na = rows.assign(na=rows["mean"].isna()).pivot(index="model", columns="task_label", values="na")
    na = na.reindex_like(table).fillna(False).astype(bool)  # n/a cells (a split not computable)
    n_rows, n_cols = table.shape
    fig, ax = plt.subplots(figsize=(2.5 + 0.22 * n_cols, 2 + 0.24 * n_rows))
    image = ax.imshow(table.to_numpy(dtype=float), cmap="viridis", vmin=0, vmax=1, aspect="auto")
    small = 6 if n_cols > 30 else 8
    ax.set_xticks(range(n_cols), names, rotation=60, ha="right", fontsize=small)
    ax.set_yticks(range(n_rows), table.index, fontsize=small)
    if n_rows * n_cols <= 300:
        for (i, j), value in np.ndenumerate(table.to_numpy(dtype=float)):
            text = f"{value:.2f}" if np.isfinite(value) else "n/a" if na.iloc[i, j] else ""
            colour = "w" if np.isfinite(value) else "0.3"  # n/a on the blank cell
            ax.text(j, i, text, ha="center", va="center", fontsize=7, color=colour)
    fig.colorbar(image, ax=ax, label=SCORE_LABEL, shrink=0.6)
    ax.set_title("Linear-probe test score at each dataset's canonical split (mean over seeds)")
    fig.tight_layout()
    save_figure(fig, path)


def task_dots(rows: pd.DataFrame, shown: list, info: pd.DataFrame, path) -> None:
    """Per task (grouped by task family, named with its split), the headline test score of
    each shown model with its 95% CI over seeds."""
    plt = pyplot()
    rows = rows[rows["model"].isin(shown)]
    tasks = rows.sort_values(["task_family", "task_label"])[["task_label", "split"]]
    tasks = tasks.drop_duplicates("task_label")
    y = {t: i for i, t in enumerate(tasks["task_label"])}
    colours = plt.get_cmap("tab10" if len(shown) <= 10 else "tab20")
    fig, ax = plt.subplots(figsize=(7.5, 1.5 + 0.28 * max(len(y), 1)))
    offsets = np.linspace(-0.3, 0.3, len(shown)) if len(shown) > 1 else [0.0]
    family = info.set_index("model")["family"]
    for k, model in enumerate(shown):
        part = rows[rows["model"] == model]
        ax.errorbar(part["mean"], part["task_label"].map(y) + offsets[k], xerr=part["ci95"],
                    fmt="o", ms=4, capsize=2, color=colours(k % colours.N),
                    label=f"{model} ({family.get(model, 'other')})")  # fmt: skip
    ax.set_yticks(range(len(y)), [f"{t} [{s}]" for t, s in tasks.to_numpy()], fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel(SCORE_LABEL)
    ax.set_title("Test score per task at its canonical split (mean ± 95% CI over seeds)",
                 fontsize=10)  # fmt: skip
    if not len(rows):
        empty_note(ax, "scores")
    ax.legend(fontsize=7, frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1))
    fig.tight_layout()
    save_figure(fig, path)


def grouped_bars(table: pd.DataFrame, x: str, hue: str, path, title: str) -> None:
    """Bars of `score` +- `ci95`, groups along `x`, one colour per `hue`; PNG and PDF."""
    plt = pyplot()
    xs, hues = sorted(table[x].unique()), sorted(table[hue].unique())
    width = 0.8 / max(len(hues), 1)
    fig, ax = plt.subplots(figsize=(1.5 + 1.2 * max(len(xs), 2), 3.6))
    for k, level in enumerate(hues):
        part = table[table[hue] == level].set_index(x).reindex(xs)
        positions = np.arange(len(xs)) + (k - (len(hues) - 1) / 2) * width
        ax.bar(positions, part["score"], width, yerr=part["ci95"], capsize=2, label=level)
    ax.set_xticks(range(len(xs)), xs, rotation=20, ha="right", fontsize=8)
    ax.set_ylabel(SCORE_LABEL, fontsize=8)
    ax.set_title(title, fontsize=10)
    if hues:
        ax.legend(fontsize=7, frameon=False)
    else:
        empty_note(ax, "scores")
    fig.tight_layout()
    save_figure(fig, path)


def split_scatter(table: pd.DataFrame, splits, info: pd.DataFrame, path, title: str) -> None:
    """One panel per other split: model x task points, the first split on x and the other on
    y, coloured by model family, with the y = x line; the 8 tasks that drop most (mean over
    models) are named, each once, at the point of the model that drops most."""
    plt = pyplot()
    first, others = splits[0], [s for s in splits[1:] if s in table and table[s].notna().any()]
    fig, axes = plt.subplots(1, max(len(others), 1), figsize=(5 * max(len(others), 1), 4.8),
                             squeeze=False)  # fmt: skip
    family = table["model"].map(info.set_index("model")["family"]).fillna("other")
    colours = family_colours(family)
    for ax, other in zip(axes[0], others, strict=False):
        part = table[table[other].notna()].assign(family=family)
        for name, points in part.groupby("family"):
            ax.scatter(points[first], points[other], s=14, color=colours[name], label=name)
        part = part.assign(task=part["dataset"] + "/" + part["target"])
        drop = part.groupby("task")[f"{first} - {other}"].mean().nlargest(8).index
        named = part.sort_values(f"{first} - {other}").drop_duplicates("task", keep="last")
        for _, p in named[named["task"].isin(drop)].iterrows():
            ax.annotate(p["task"], (p[first], p[other]), fontsize=6, xytext=(3, 3),
                        textcoords="offset points")  # fmt: skip
        ax.set_xlabel(f"test score, {first} split")
        ax.set_ylabel(f"test score, {other} split")
    for ax in axes[0]:
        low = min(0.0, np.nanmin(table[list(splits)].to_numpy(dtype=float), initial=0.0))
        ax.plot([low, 1], [low, 1], color="grey", lw=1, ls="--", label="y = x")
        ax.legend(fontsize=7, frameon=False)
    if not others:
        empty_note(axes[0][0], f"dataset with the {first} split and one of {', '.join(splits[1:])}")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    save_figure(fig, path)


def scaling_figure(table: pd.DataFrame, path) -> None:
    """Score against parameter count (log x), one panel per task family, one line per model
    family (checkpoints by size); weightless baselines as dashed horizontal lines."""
    plt = pyplot()
    families = sorted(table["task_family"].unique()) or [""]
    n_cols = min(4, len(families))
    n_rows = -(-len(families) // n_cols)
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(3.6 * n_cols + 2.2, 3 * n_rows),
                             squeeze=False)  # fmt: skip
    colours = family_colours(table["family"])
    for ax, task_family in zip(axes.flat, families, strict=False):
        part = table[table["task_family"] == task_family]
        sized = part[part["params"].notna()]
        for name, points in sized.sort_values("params").groupby("family"):
            ax.plot(points["params"].astype(float), points["score"], "o-", ms=4,
                    color=colours[name], label=name)  # fmt: skip
        for _, base in part[part["params"].isna()].iterrows():
            ax.axhline(base["score"], ls="--", lw=1, color=colours[base["family"]],
                       label=f"{base['model']} (no weights)")  # fmt: skip
        ax.set_xscale("log")
        ax.set_title(task_family, fontsize=9)
        ax.set_xlabel("parameters", fontsize=8)
        ax.set_ylabel("mean test score", fontsize=8)
        if sized.empty:
            empty_note(ax, "model with a parameter count")
    for ax in axes.flat[len(families) :]:
        ax.axis("off")
    handles = {}
    for ax in axes.flat:
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            handles.setdefault(label, handle)
    fig.legend(handles.values(), handles.keys(), fontsize=7, frameon=False, loc="upper left",
               bbox_to_anchor=(0.86, 0.98))  # fmt: skip
    fig.suptitle("Test score vs model size per task family (canonical splits)", fontsize=10)
    fig.tight_layout(rect=(0, 0, 0.85, 1))
    save_figure(fig, path)


def per_label_figure(table: pd.DataFrame, canonical: dict, shown: list, path) -> None:
    """One panel per multilabel target: each label's test AUPRC against its prevalence (the
    AUPRC of a random ranking, dashed) for the shown models, at the canonical split."""
    plt = pyplot()
    rows = table[table["split"] == table["dataset"].map(canonical)] if len(table) else table
    rows = rows[rows["model"].isin(shown)] if len(rows) else rows
    tasks = sorted(set(zip(rows["dataset"], rows["target"], strict=True))) if len(rows) else []
    n_cols = min(3, max(len(tasks), 1))
    n_rows = max(-(-len(tasks) // n_cols), 1)
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(4.4 * n_cols + 1.5, 3.8 * n_rows),
                             squeeze=False)  # fmt: skip
    colours = plt.get_cmap("tab10" if len(shown) <= 10 else "tab20")
    for ax, (dataset, target) in zip(axes.flat, tasks, strict=False):
        part = rows[(rows["dataset"] == dataset) & (rows["target"] == target)]
        for k, model in enumerate(shown):
            points = part[part["model"] == model]
            ax.errorbar(points["prevalence"], points["auprc"], yerr=points["auprc_ci95"], fmt="o",
                        ms=4, capsize=2, color=colours(k % colours.N), label=model)  # fmt: skip
        labels = part.drop_duplicates("label")
        if len(labels) <= 12:
            for _, p in labels.iterrows():
                ax.annotate(p["label"], (p["prevalence"], p["auprc"]), fontsize=6,
                            xytext=(3, -8), textcoords="offset points")  # fmt: skip
        ax.plot([0, 1], [0, 1], color="grey", lw=1, ls="--")
        ax.set_title(f"{dataset} / {target} [{part['split'].iloc[0]}]", fontsize=9)
        ax.set_xlabel("label prevalence (test)", fontsize=8)
        ax.set_ylabel("label AUPRC (test)", fontsize=8)
    if not tasks:
        empty_note(axes[0][0], "multilabel target")
    handles, labels = axes.flat[0].get_legend_handles_labels()
    if handles:
        fig.legend(handles, labels, fontsize=7, frameon=False, loc="upper left",
                   bbox_to_anchor=(0.8, 0.98))  # fmt: skip
    fig.suptitle("Per-label AUPRC vs prevalence, multilabel targets", fontsize=10)
    fig.tight_layout(rect=(0, 0, 0.8, 1))
    save_figure(fig, path)


def statistics_figure(ranked, pairs, info: pd.DataFrame, path, test: tuple) -> None:
    """Left: each model's mean rank across tasks (coloured by family). Right: the pairwise
    matrix, row model significantly better (green) or worse (red) than the column model
    after Holm correction, grey where not significant."""
    plt = pyplot()
    models = ranked["model"].tolist()
    n = len(models)
    fig, (left, right) = plt.subplots(1, 2, figsize=(6 + 0.2 * n, 2.2 + 0.22 * n),
                                      width_ratios=[1, 1.3])  # fmt: skip
    family = ranked["model"].map(info.set_index("model")["family"]).fillna("other")
    colours = family_colours(family)
    left.barh(range(n), ranked["mean_rank"], color=[colours[f] for f in family])
    left.set_yticks(range(n), models, fontsize=7)
    left.invert_yaxis()
    left.set_xlabel("mean rank across tasks (1 = best)", fontsize=8)
    statistic, p, n_tasks = test
    left.set_title(f"Friedman chi2 = {statistic:.3g}, p = {p:.2g} ({n_tasks} tasks)", fontsize=8)
    grid = np.zeros((n, n))
    index = {m: i for i, m in enumerate(models)}
    for _, row in pairs[pairs["significant"]].iterrows():
        sign = 1.0 if row["median_difference"] > 0 else -1.0
        a, b = index[row["model_a"]], index[row["model_b"]]
        grid[a, b], grid[b, a] = sign, -sign
    from matplotlib.colors import ListedColormap

    right.imshow(grid, cmap=ListedColormap(["#d7301f", "#e0e0e0", "#1a9850"]), vmin=-1, vmax=1)
    right.set_xticks(range(n), models, rotation=90, fontsize=6)
    right.set_yticks(range(n), models, fontsize=6)
    right.set_title("row better (green) / worse (red) than column:\nWilcoxon over task x seed"
                    " pairs, Holm p < 0.05", fontsize=8)  # fmt: skip
    fig.tight_layout()
    save_figure(fig, path)


# --------------------------------------------------------------------------- rules

CSV = {"index": False, "float_format": "%.6g"}


def aggregate(job):
    """Rule report: metrics.parquet, summary.csv and models.csv."""
    metrics = collect(job.input.probes)
    metrics.to_parquet(job.output.metrics, index=False)
    summarise(metrics, job.params.ddof).to_csv(job.output.summary, **CSV)
    sidecars = [read_json(path) for path in job.input.sidecars]
    model_info(job.params.models, sidecars).to_csv(job.output.models, **CSV)


class Context:
    """What every table and figure rule reads: the summary, the models table, the canonical-split
    headline rows (annotated), the model ranks and the models a figure names."""

    def __init__(self, job):
        self.summary = read_summary(job.input.summary)
        self.info = pd.read_csv(job.input.models)
        self.canonical, self.datasets = job.params.canonical, job.params.datasets
        rows = headline(self.summary, self.canonical)
        self.rows = annotate(rows, self.info, self.datasets)
        self.ranked = ranks(self.rows)
        self.shown = representatives(self.ranked, self.info, job.params.top_models)


def leaderboard_step(job, c: Context):
    """Rule report_leaderboard: leaderboard.csv/.md, heatmap and task panel."""
    table = leaderboard(c.rows, c.shown)
    leaderboard(c.rows, c.ranked["model"]).to_csv(job.output.leaderboard, index=False)
    Path(job.output.leaderboard_md).write_text(
        leaderboard_markdown(table, len(c.ranked)) + notes_markdown(c.rows)
    )
    heatmap(c.rows, c.ranked, c.info, job.output.heatmap)
    task_dots(c.rows, c.shown, c.info, job.output.task_bars)


def models_step(job, c: Context):
    """Rule report_models: best checkpoints (Table 2), figures d and f."""
    every_split = annotate(headline(c.summary), c.info, c.datasets)
    best = best_checkpoints(every_split)
    best.to_csv(job.output.table2, **CSV)
    Path(job.output.table2_md).write_text(best_checkpoints_markdown(best))
    ddof = job.params.ddof
    grouped_bars(group_means(c.rows, ["resolution", "objective"], ddof), "resolution",
                 "objective", job.output.global_local,
                 "Global vs local tasks by pre-training objective")  # fmt: skip
    grouped_bars(group_means(c.rows, ["task_family", "molecule"], ddof), "task_family",
                 "molecule", job.output.dna_rna,
                 "DNA- vs RNA-pretrained models per task family")  # fmt: skip


def scaling_step(job, c: Context):
    """Rule report_scaling: score against parameter count."""
    table = scaling_table(c.rows)
    table.to_csv(job.output.table, **CSV)
    scaling_figure(table, job.output.scaling)


def statistics_step(job, c: Context):
    """Rule report_statistics: mean ranks (Friedman) and pairwise Wilcoxon/Holm tests."""
    scores = seed_scores(pd.read_parquet(job.input.metrics), c.canonical)
    pairs = pairwise(scores)
    test = friedman(scores)
    c.ranked.merge(c.info[["model", "family"]], on="model", how="left").assign(
        friedman_statistic=test[0], friedman_p=test[1], friedman_tasks=test[2]
    ).to_csv(job.output.ranks, **CSV)
    pairs.to_csv(job.output.pairwise, index=False, float_format="%.4g")
    statistics_figure(c.ranked, pairs, c.info, job.output.statistics, test)


def per_label_step(job, c: Context):
    """Rule report_per_label: per-label metrics of multilabel targets."""
    table = per_label_table(c.summary)
    table.to_csv(job.output.table, **CSV)
    per_label_figure(table, c.canonical, c.shown, job.output.per_label)


def leakage_step(job, c: Context):
    """Rule report_leakage: split audits and random vs homologene vs homology."""
    audits = [read_json(path) for path in job.input.audits]
    leakage_table(audits).to_csv(job.output.audit, **CSV)
    table = split_table(c.summary, LEAKAGE_SPLITS)
    table.to_csv(job.output.table, **CSV)
    split_scatter(table, LEAKAGE_SPLITS, c.info, job.output.leakage,
                  "Random vs gene-family (homologene) and MMseqs2 (homology) splits")  # fmt: skip


def compositional_step(job, c: Context):
    """Rule report_compositional: compositional split vs its random control."""
    splits = ("compositional_random", "compositional")
    table = split_table(c.summary, splits)
    table.to_csv(job.output.table, **CSV)
    split_scatter(table, splits, c.info, job.output.compositional, "Unseen element combination")


RULES = {
    "report_leaderboard": leaderboard_step,
    "report_models": models_step,
    "report_scaling": scaling_step,
    "report_statistics": statistics_step,
    "report_per_label": per_label_step,
    "report_leakage": leakage_step,
    "report_compositional": compositional_step,
}


def run_rule(job) -> None:
    """One report rule: `job` has the rule's name (`rule`) and its named `input`, `output`
    and `params`, as Snakemake's `snakemake` object (workflow/rules/report.smk)."""
    if job.rule == "report":
        aggregate(job)
    else:
        RULES[job.rule](job, Context(job))
