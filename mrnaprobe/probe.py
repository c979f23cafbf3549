"""Probe stage: linear probes on frozen embeddings, one long-format table per seed."""

import logging
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
from scipy.stats import pearsonr, spearmanr
from sklearn.linear_model import LogisticRegression, RidgeCV
from sklearn.metrics import mean_squared_error
from sklearn.multioutput import MultiOutputClassifier
from threadpoolctl import threadpool_limits

from mrnaprobe import MrnaProbeError
from mrnaprobe.data import target_frame
from mrnaprobe.linear import ALPHAS, Embeddings, columns_pay, fit_logistic, fit_ridge

log = logging.getLogger(__name__)

METRICS = {
    "regression": ("mse", "pearson", "spearman"),
    "binary": ("auroc", "auprc"),
    "multilabel": ("auroc", "auprc"),
}
PRIMARY_METRIC = {"regression": "pearson", "binary": "auprc", "multilabel": "auprc"}
FOLDS = ("train", "val", "test")
SOLVERS = ("fast", "sklearn")
#: The whole-target metrics of each task: the rows an n/a (not computable) cell holds.
TASK_METRICS = {
    "regression": ("mse", "pearson", "spearman"),
    "binary": ("auroc", "auprc"),
    "multilabel": ("auroc", "auprc", "auroc_macro", "auprc_macro"),
}


def regression_metrics(y: np.ndarray, predicted: np.ndarray) -> dict:
    """MSE, Pearson r and Spearman rho of predictions."""
    return {
        "mse": mean_squared_error(y, predicted),
        "pearson": pearsonr(y, predicted).statistic,
        "spearman": spearmanr(y, predicted).statistic,
    }


def classification_metrics(Y: np.ndarray, probabilities: np.ndarray) -> dict:
    """AUROC and AUPRC (sklearn's roc_auc_score and average_precision_score, micro-averaged
    over the labels of a multilabel Y), both from one sort of the pooled scores."""
    order = np.argsort(-np.ravel(probabilities))
    score, positive = np.ravel(probabilities)[order], np.ravel(Y)[order] > 0
    last = np.r_[np.flatnonzero(np.diff(score)), len(score) - 1]  # last row of each threshold
    tp = np.cumsum(positive)[last]
    fp = last + 1 - tp
    tpr, fpr = np.r_[0.0, tp / tp[-1]], np.r_[0.0, fp / fp[-1]]
    return {
        "auroc": float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1])) / 2),  # trapezoids
        "auprc": float(np.sum(np.diff(tpr) * tp / (last + 1))),
    }


def multilabel_metrics(Y: np.ndarray, probabilities: np.ndarray, labels, where: str) -> dict:
    """{(label, metric): value}: micro AUROC and AUPRC (mRNABench's, label ""), their macro
    averages (`auroc_macro`, `auprc_macro`) over the labels with both classes in Y, and per
    label AUROC, AUPRC and prevalence (NaN AUROC/AUPRC where a label has one class)."""
    scores = {
        ("", metric): value for metric, value in classification_metrics(Y, probabilities).items()
    }
    per_label = {"auroc": [], "auprc": []}
    for j, label in enumerate(labels):
        column = Y[:, j]
        both = 0 < column.sum() < len(column)
        values = classification_metrics(column, probabilities[:, j]) if both else {}
        for metric in per_label:
            per_label[metric].append(values.get(metric, np.nan))
            scores[label, metric] = per_label[metric][-1]
        scores[label, "prevalence"] = float(column.mean())
    if undefined := int(np.isnan(per_label["auroc"]).sum()):
        log.info("%s: %d of %d labels have one class, left out of the macro averages",
                 where, undefined, len(labels))  # fmt: skip
    for metric, values in per_label.items():
        defined = [v for v in values if np.isfinite(v)]
        scores["", f"{metric}_macro"] = float(np.mean(defined)) if defined else np.nan
    return scores


def fold_scores(task: str, y, predicted, labels, where: str) -> dict:
    """{(label, metric): value} of one held-out fold, label "" for the whole target."""
    if task == "multilabel":
        return multilabel_metrics(y, predicted, labels, where)
    score = regression_metrics if task == "regression" else classification_metrics
    return {("", metric): value for metric, value in score(y, predicted).items()}


def label_names(dataset: pd.DataFrame, name: str, spec: dict) -> list[str]:
    """A multilabel target's label names in column order (as target_frame reads them)."""
    if "columns" in spec:
        return list(spec["columns"])
    return [c.split(":", 1)[1] for c in dataset.columns if c.startswith(f"{name}:")]


def check_classes(name: str, Y: np.ndarray, fold: str, seed: int, pooled: bool) -> None:
    """Raise when a label (or, pooled, all labels together) has one class in a fold."""
    for label, column in enumerate([Y.ravel()] if pooled else Y.T):
        if len(np.unique(column)) < 2:
            which = "labels pooled" if pooled else f"label {label}"
            raise MrnaProbeError(
                f"target {name!r} {which}: only class {column[0]:g} in the {fold} fold "
                f"of seed {seed}; use a split with more rows or drop the label"
            )


def check_fold_rows(name: str, y: np.ndarray, folds: np.ndarray, task: str, seed: int) -> None:
    """Raise when a fold has under 2 measured rows or, for regression, a single target value."""
    for fold in FOLDS:
        values = y[folds == fold]
        if len(values) < 2:
            raise MrnaProbeError(
                f"target {name!r}: the {fold} fold of seed {seed} has {len(values)} rows with "
                "a measurement; at least 2 are needed"
            )
        if task == "regression" and np.ptp(values) == 0:
            raise MrnaProbeError(
                f"target {name!r}: every {fold} value of seed {seed} is {values[0]:g}; "
                "the probe metrics are undefined"
            )


def fit_sklearn(X: np.ndarray, y: np.ndarray, task: str):
    """scikit-learn's estimators exactly as mRNABench configures them (RidgeCV over ALPHAS;
    LogisticRegression(max_iter=5000), one per label); returns a predict function."""
    if task == "regression":
        return RidgeCV(alphas=ALPHAS).fit(X, y).predict
    model = MultiOutputClassifier(LogisticRegression(max_iter=5000)).fit(X, y)
    return lambda X_eval: np.column_stack([p[:, 1] for p in model.predict_proba(X_eval)])


def probe_target(X: np.ndarray, bases, rows, folds, y, task: str, name: str, seed: int,
                 solver: str = "fast", labels=()):  # fmt: skip
    """Fit on the train rows, score val and test; yields
    (fold, label, metric, value, n_train, n_eval), label "" for the whole target.

    rows index the embedding matrix X, folds and y are per row; bases(train_rows, task) gives
    the (shared) train spectrum, or for a classification task possibly its Columns.
    `solver`: "fast" (mrnaprobe.linear) or "sklearn" (fit_sklearn). `labels`: a multilabel
    target's label names (multilabel_metrics)."""
    check_fold_rows(name, y, folds, task, seed)
    train = folds == "train"
    if task != "regression":
        y = y.reshape(len(y), -1).astype(np.int8)
        check_classes(name, y[train], "train", seed, pooled=False)
    if solver == "sklearn":
        predict = fit_sklearn(X[rows[train]], y[train], task)
    elif task == "regression":
        predict = fit_ridge(bases(rows[train], task), y[train]).predict
    else:
        predict = fit_logistic(bases(rows[train], task), y[train])
    for fold in ("val", "test"):
        held = folds == fold
        if task != "regression":
            check_classes(name, y[held], fold, seed, pooled=True)
        where = f"target {name!r} {fold} fold seed {seed}"
        scores = fold_scores(task, y[held], predict(X[rows[held]]), labels, where)
        for (label, metric), value in scores.items():
            yield fold, label, metric, float(value), int(train.sum()), int(held.sum())


def row_folds(split: pd.DataFrame, seed: int, dataset: pd.DataFrame, target: str) -> np.ndarray:
    """Fold per dataset row (NA: not in the split) of one seed for `target`: its own folds
    where the split has them (made on its measured rows), else the folds of all rows."""
    table = split.loc[split["seed"] == seed]
    if "target" in table:
        own = table["target"] == target
        table = table[own.fillna(False) if own.any() else table["target"].isna()]
    folds = table.set_index("id")["fold"]
    if folds.empty:
        raise MrnaProbeError(f"split has no rows for seed {seed}")
    unknown = ~folds.index.isin(dataset["id"])
    if unknown.any():
        raise MrnaProbeError(f"split id {folds.index[unknown][0]!r} is not in the dataset")
    return folds.reindex(dataset["id"]).to_numpy()


def not_computable_reason(not_computable, split: pd.DataFrame, seed: int, target: str):
    """Why `target`'s split of `seed` could not be made (None: it could): its own folds'
    entry in the audit's `not_computable`, else that of the folds of all rows where the
    target has no folds of its own."""
    reasons = {(e["seed"], e["target"]): e["reason"] for e in not_computable or ()}
    if (seed, target) in reasons:
        return reasons[seed, target]
    own = target in set(split["target"].dropna()) if "target" in split else False
    own = own or any(t == target for _, t in reasons)
    return None if own else reasons.get((seed, None))


def not_computable_rows(name: str, task: str, seed: int) -> list:
    """The n/a rows of a target whose split could not be made (value NaN, no rows)."""
    return [(name, task, "", seed, fold, metric, np.nan, 0, 0)
            for fold in ("val", "test") for metric in TASK_METRICS[task]]  # fmt: skip


def probe_seed(
    dataset: pd.DataFrame,
    X,
    split: pd.DataFrame,
    targets: dict,
    seed: int,
    solver="fast",
    not_computable=None,
) -> pd.DataFrame:
    """All targets of a dataset probed on one seed's folds; long format, with `status`
    "" (computed) or the reason the split could not be made (`not_computable`, the audit's
    entries: those targets get n/a rows, see not_computable_rows).

    X is the embedding matrix or its Embeddings; targets with the same train rows share
    one train spectrum (or Columns), built on first use (the sklearn solver needs none).
    `solver`: see probe_target."""
    if solver not in SOLVERS:
        raise MrnaProbeError(f"probe solver {solver!r} is not one of {', '.join(SOLVERS)}")
    matrix = X.X if isinstance(X, Embeddings) else X
    emb = X if isinstance(X, Embeddings) else None
    built = {}

    def basis(train_rows, task):
        nonlocal emb
        if emb is None:
            emb = shared_embeddings(matrix, targets)
        columns = task != "regression" and columns_pay(len(train_rows), matrix.shape[1])
        key = (columns, train_rows.tobytes())
        if key not in built:
            built[key] = emb.columns(train_rows) if columns else emb.spectrum(train_rows)
        return built[key]

    rows, status = [], []
    for name, spec in targets.items():
        if reason := not_computable_reason(not_computable, split, seed, name):
            rows += not_computable_rows(name, spec["task"], seed)
            status += [reason] * (len(rows) - len(status))
            continue
        present, y = target_frame(dataset, name, spec)
        if dropped := len(dataset) - len(present):
            log.info("target %s: %d rows without a measurement dropped", name, dropped)
        folds = row_folds(split, seed, dataset, name)
        in_split = pd.notna(folds[present])
        if outside := int((~in_split).sum()):
            log.info("target %s seed %s: %d measured rows are not part of this split and are "
                     "left out", name, seed, outside)  # fmt: skip
        present, y = present[in_split], y[in_split]
        labels = label_names(dataset, name, spec) if spec["task"] == "multilabel" else ()
        scores = probe_target(matrix, basis, present, folds[present], y, spec["task"], name,
                              seed, solver, labels)  # fmt: skip
        for fold, label, metric, value, n_train, n_eval in scores:
            rows.append((name, spec["task"], label, seed, fold, metric, value, n_train, n_eval))
        status += [""] * (len(rows) - len(status))
    columns = ["target", "task", "label", "seed", "fold", "metric", "value", "n_train", "n_eval"]
    return pd.DataFrame(rows, columns=columns).assign(status=pd.Series(status, dtype=object))


def shared_embeddings(X: np.ndarray, targets: dict) -> Embeddings:
    """X's Embeddings for the fast solver, with X's kernel (where d > rows) unless every
    target is a classification whose fits are expected to take the Columns."""
    ridge = any(spec["task"] == "regression" for spec in targets.values())
    return Embeddings(X, kernel=ridge or not columns_pay(*np.shape(X)))


def probe_seeds(
    dataset, X, split, targets: dict, seeds, threads: int = 1, solver="fast", not_computable=None
):
    """probe_seed for every seed, yielded in order as they finish, `threads` seeds at a time,
    each on one BLAS thread (so the numbers do not depend on `threads`); the seeds share
    X's Gram matrix or kernel (the fast solver's; no kernel where only logistic fits on
    Columns are expected)."""
    if solver == "fast":
        X = shared_embeddings(X, targets)

    def one(seed):
        return probe_seed(dataset, X, split, targets, seed, solver, not_computable)

    with threadpool_limits(1), ThreadPoolExecutor(max(1, threads)) as pool:
        yield from pool.map(one, seeds)


def load_embeddings(path, dataset: pd.DataFrame) -> np.ndarray:
    """The .npy embedding matrix of a dataset (never unpickled), checked by check_embeddings."""
    try:
        X = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as err:
        raise MrnaProbeError(f"{path}: cannot load as a numeric .npy array ({err})") from err
    check_embeddings(X, dataset, path)
    return X


def check_embeddings(X: np.ndarray, dataset: pd.DataFrame, path) -> None:
    """Raise when embeddings don't have one finite numeric row per dataset row."""
    if X.dtype.kind not in "fiu":
        raise MrnaProbeError(f"{path}: embedding dtype {X.dtype} is not numeric")
    if X.ndim != 2 or X.shape[0] != len(dataset):
        raise MrnaProbeError(
            f"{path}: embedding shape {X.shape} does not match {len(dataset)} dataset rows"
        )
    if not np.isfinite(X).all():
        row = int((~np.isfinite(X)).any(axis=1).argmax())
        raise MrnaProbeError(f"{path}: row {row + 1} holds a non-finite value")
