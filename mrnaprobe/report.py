"""Report stage: all probe tables into metrics, a seed summary, a leaderboard and a heatmap."""

import numpy as np
import pandas as pd

from mrnaprobe.probe import PRIMARY_METRIC

KEYS = ["dataset", "target", "task", "model", "split", "fold", "metric"]


def collect(paths) -> pd.DataFrame:
    """All probe rows in one frame, in a stable order."""
    metrics = pd.concat([pd.read_parquet(p) for p in paths], ignore_index=True)
    return metrics.sort_values([*KEYS, "seed"], kind="stable").reset_index(drop=True)


def summarise(metrics: pd.DataFrame) -> pd.DataFrame:
    """Mean and 95% CI (1.96 * SE) over seeds per dataset x target x model x split x metric."""
    grouped = metrics.groupby(KEYS, sort=True)["value"]
    summary = grouped.agg(mean="mean", std="std", n_seeds="count").reset_index()
    summary["ci95"] = 1.96 * summary["std"].fillna(0.0) / np.sqrt(summary["n_seeds"])
    return summary.drop(columns="std")


def primary(summary: pd.DataFrame, fold: str = "test") -> pd.DataFrame:
    """Each task's headline metric (Pearson r for regression, AUPRC otherwise) on one fold."""
    wanted = summary["task"].map(PRIMARY_METRIC)
    rows = summary[(summary["fold"] == fold) & (summary["metric"] == wanted)].copy()
    rows["task_label"] = rows["dataset"] + " / " + rows["target"] + " (" + rows["metric"] + ")"
    return rows


def leaderboard(summary: pd.DataFrame) -> str:
    """Markdown table: tasks x (model, split), test mean +- 95% CI of the headline metric."""
    rows = primary(summary)
    rows["cell"] = rows.apply(lambda r: f"{r['mean']:.3f} ± {r['ci95']:.3f}", axis=1)
    rows["column"] = rows["model"] + " · " + rows["split"]
    table = rows.pivot(index="task_label", columns="column", values="cell").fillna("")
    header = "| task | " + " | ".join(table.columns) + " |"
    lines = [header, "|" + "---|" * (len(table.columns) + 1)]
    lines += [f"| {task} | " + " | ".join(row) + " |" for task, row in table.iterrows()]
    return "\n".join(lines) + "\n"


def save_figure(fig, path) -> None:
    """Write a figure as PNG at `path` and as PDF beside it, without timestamps (reproducible)."""
    from pathlib import Path

    import matplotlib.pyplot as plt

    fig.savefig(path, dpi=150, metadata={"Software": None})
    fig.savefig(Path(path).with_suffix(".pdf"),
                metadata={"Creator": None, "Producer": None, "CreationDate": None})  # fmt: skip
    plt.close(fig)


def heatmap(summary: pd.DataFrame, path) -> None:
    """(Model, split) x tasks heatmap of the headline test metric (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = primary(summary)
    rows["row"] = rows["model"] + " · " + rows["split"]
    table = rows.pivot(index="row", columns="task_label", values="mean")
    fig, ax = plt.subplots(figsize=(1.2 + 1.1 * table.shape[1], 1.5 + 0.5 * table.shape[0]))
    image = ax.imshow(table.to_numpy(), cmap="viridis", vmin=0, vmax=1, aspect="auto")
    ax.set_xticks(range(table.shape[1]), table.columns, rotation=40, ha="right", fontsize=8)
    ax.set_yticks(range(table.shape[0]), table.index, fontsize=8)
    for (i, j), value in np.ndenumerate(table.to_numpy()):
        if np.isfinite(value):
            ax.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize=7, color="w")
    fig.colorbar(image, ax=ax, label="test Pearson r / AUPRC")
    ax.set_title("Linear-probe test score (mean over seeds)")
    fig.tight_layout()
    save_figure(fig, path)


def leakage_table(audits) -> pd.DataFrame:
    """One row per dataset x split x seed x held-out fold from the splits' audit reports."""
    rows = [
        {"dataset": a["dataset"], "split": a["split"], "seed": int(seed), "fold": fold,
         **counts, "min_seq_id": a["min_seq_id"], "coverage": a["coverage"],
         "command": a["command"]}
        for a in audits
        for seed, folds in a["seeds"].items()
        for fold, counts in folds.items()
    ]  # fmt: skip
    return pd.DataFrame(rows).sort_values(["dataset", "split", "fold", "seed"], kind="stable")


def paired(summary: pd.DataFrame, first: str, second: str) -> pd.DataFrame:
    """Headline test metric of each model x task under two split types, side by side."""
    rows = primary(summary)
    table = rows.pivot_table(
        index=["dataset", "target", "metric", "model"], columns="split", values="mean"
    )
    if first not in table or second not in table:
        return pd.DataFrame(columns=["dataset", "target", "metric", "model", first, second])
    table = table[[first, second]].dropna().reset_index()
    table.columns.name = None
    return table.assign(difference=table[first] - table[second])


def paired_scatter(table: pd.DataFrame, first: str, second: str, path, title: str) -> None:
    """One point per model x task, first split on x, second on y, with the y = x line."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 5))
    for model, points in table.groupby("model"):
        ax.scatter(points[first], points[second], label=model, s=30)
        for _, p in points.iterrows():
            ax.annotate(f"{p['dataset']}/{p['target']}", (p[first], p[second]), fontsize=6,
                        xytext=(3, 3), textcoords="offset points")  # fmt: skip
    low = min(0.0, table[[first, second]].min().min()) if len(table) else 0.0
    ax.plot([low, 1], [low, 1], color="grey", lw=1, ls="--", label="y = x")
    ax.set_xlabel(f"test score, {first} split")
    ax.set_ylabel(f"test score, {second} split")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=7)
    fig.tight_layout()
    save_figure(fig, path)


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


def annotated_scores(summary: pd.DataFrame, models: dict, datasets: dict, split=None):
    """Headline test scores with each model's objective/molecule and each task's tags.

    `models`: name -> spec with `family` (unknown families count as objective/molecule
    "other"); `datasets`: name -> catalog entry with `task_family` and `resolution` (absent:
    the dataset name and "transcript"). `split`: keep one split type (default all).
    """
    rows = primary(summary)
    if split is not None:
        rows = rows[rows["split"] == split]
    family = rows["model"].map(lambda m: (models.get(m) or {}).get("family", "other"))
    pretraining = family.map(lambda f: FAMILY_PRETRAINING.get(f, ("other", "other")))
    rows = rows.assign(
        family=family,
        objective=pretraining.str[0],
        molecule=pretraining.str[1],
        task_family=rows["dataset"].map(lambda d: datasets.get(d, {}).get("task_family", d)),
        resolution=rows["dataset"].map(
            lambda d: datasets.get(d, {}).get("resolution", "transcript")
        ),
    )
    return rows


def group_means(rows: pd.DataFrame, by: list) -> pd.DataFrame:
    """Mean headline score and 95% CI (1.96 * SE over model x task cells) per group."""
    grouped = rows.groupby(by, sort=True)["mean"]
    table = grouped.agg(score="mean", std="std", n="count").reset_index()
    table["ci95"] = 1.96 * table["std"].fillna(0.0) / np.sqrt(table["n"])
    return table.drop(columns="std")


def grouped_bars(table: pd.DataFrame, x: str, hue: str, path_stem, title: str) -> None:
    """Bars of `score` +- `ci95`, groups along `x`, one colour per `hue`; PNG and PDF."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    xs, hues = sorted(table[x].unique()), sorted(table[hue].unique())
    width = 0.8 / max(len(hues), 1)
    fig, ax = plt.subplots(figsize=(1.5 + 1.2 * len(xs), 3.6))
    for k, level in enumerate(hues):
        part = table[table[hue] == level].set_index(x).reindex(xs)
        positions = np.arange(len(xs)) + (k - (len(hues) - 1) / 2) * width
        ax.bar(positions, part["score"], width, yerr=part["ci95"], capsize=2, label=level)
    ax.set_xticks(range(len(xs)), xs, rotation=20, ha="right", fontsize=8)
    ax.set_ylabel("test Pearson r / AUPRC")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=7, frameon=False)
    fig.tight_layout()
    save_figure(fig, f"{path_stem}.png")


def global_vs_local(summary, models: dict, datasets: dict, path_stem, split="random"):
    """Figure (d): objective (contrastive, masked-LM, causal-LM, baseline) x task resolution.

    Transcript-level ("global") vs nucleotide-resolution ("local") tasks come from each
    dataset's `resolution`; returns the plotted table.
    """
    rows = annotated_scores(summary, models, datasets, split)
    table = group_means(rows, ["resolution", "objective"])
    grouped_bars(table, "resolution", "objective", path_stem,
                 "Global vs local tasks by pre-training objective")  # fmt: skip
    return table


def dna_vs_rna(summary, models: dict, datasets: dict, path_stem, split="random"):
    """Figure (f): DNA- vs RNA-pretrained models (and baselines) per dataset `task_family`."""
    rows = annotated_scores(summary, models, datasets, split)
    table = group_means(rows, ["task_family", "molecule"])
    grouped_bars(table, "task_family", "molecule", path_stem,
                 "DNA- vs RNA-pretrained models per task family")  # fmt: skip
    return table


def best_checkpoints(summary: pd.DataFrame, models: dict, datasets: dict) -> pd.DataFrame:
    """Table-2 style: per split, task family and model family, the best checkpoint's score.

    A checkpoint's score is its mean headline test metric over the family's tasks: Pearson r
    for regression, AUPRC in % for classification.
    """
    rows = annotated_scores(summary, models, datasets)
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
        lines = [f"### {split} split", "", "| model family | " + " | ".join(grid.columns) + " |",
                 "|" + "---|" * (len(grid.columns) + 1)]  # fmt: skip
        lines += [f"| {family} | " + " | ".join(row) + " |" for family, row in grid.iterrows()]
        sections.append("\n".join(lines))
    note = (
        "Best checkpoint per model family: test Pearson r (regression) or AUPRC % (classification)."
    )
    return note + "\n\n" + "\n\n".join(sections) + "\n"


def task_bars(summary: pd.DataFrame, path, split: str = "random") -> None:
    """Figure (e): headline test score per task, one bar per model, 95% CIs over seeds."""
    rows = primary(summary)
    rows = rows[rows["split"] == split].rename(columns={"mean": "score"})
    grouped_bars(rows, "task_label", "model", str(path).removesuffix(".png"),
                 f"Test score per task, {split} split (mean +- 95% CI over seeds)")  # fmt: skip
