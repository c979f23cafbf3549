"""Time mrnaprobe.linear against mrna-bench's LinearProbe on the anchor problem.

Usage: python benchmarks/probe_vs_mrnabench.py ANCHOR.npz ANCHOR.json
(both written by /work/shared/bench/probe_anchor_mrnabench.py). Per seed it rebuilds
mrna-bench's random split (train_test_split 70/30, then 50/50 of the rest, same seed),
fits our ridge (regression target) and logistic (multilabel target) probes and scores
train, val and test with mrna-bench's metrics (the work its timed multirun does). Prints
one JSON line: speedups (mrna-bench seconds from the anchor over ours, so run both under
the same load and BLAS threads) and the largest per-seed test-metric difference.
"""

import json
import os
import sys
import time

import numpy as np
from scipy.stats import pearsonr, spearmanr
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.model_selection import train_test_split

from mrnaprobe.linear import fit_logistic, fit_ridge


def split(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """mrna-bench's SklearnSplitter((0.7, 0.15, 0.15)) row indices: train, val, test."""
    train, rest = train_test_split(np.arange(n), test_size=0.3, random_state=seed)
    val, test = train_test_split(rest, test_size=0.5, random_state=seed)
    return train, val, test


def regression(X, y, seed):
    train, val, test = split(len(X), seed)
    model = fit_ridge(X[train], y[train])
    scores = {}
    for fold, rows in (("train", train), ("val", val), ("test", test)):
        pred = model.predict(X[rows])
        scores |= {
            f"{fold}_mse": float(np.mean((pred - y[rows]) ** 2)),
            f"{fold}_r": float(pearsonr(pred, y[rows]).statistic),
            f"{fold}_p": float(spearmanr(pred, y[rows]).statistic),
        }
    return scores


def multilabel(X, Y, seed):
    train, val, test = split(len(X), seed)
    predict = fit_logistic(X[train], Y[train])
    scores = {}
    for fold, rows in (("train", train), ("val", val), ("test", test)):
        prob = predict(X[rows])
        scores |= {
            f"{fold}_auroc": float(roc_auc_score(Y[rows], prob, average="micro")),
            f"{fold}_auprc": float(average_precision_score(Y[rows], prob, average="micro")),
        }
    return scores


def main(npz: str, anchor_json: str) -> None:
    data = np.load(npz)
    with open(anchor_json) as handle:
        anchor = json.load(handle)
    seeds = [int(s) for s in data["seeds"]]
    out, deltas = {}, {}
    for task, probe, target in (
        ("regression", regression, data["yreg"]),
        ("multilabel", multilabel, data["ylab"]),
    ):
        start = time.perf_counter()
        scores = {seed: probe(data["X"], target, seed) for seed in seeds}
        ours = time.perf_counter() - start
        for seed, metrics in anchor[f"{task}_metrics"].items():
            for name, value in metrics.items():
                delta = abs(scores[int(seed)][name] - value)
                deltas[f"{task}_{name}"] = max(deltas.get(f"{task}_{name}", 0.0), delta)
        out |= {
            f"{task}_s": round(ours, 3),
            f"{task}_mrnabench_s": round(anchor[f"{task}_s"], 3),
            f"{task}_speedup": round(anchor[f"{task}_s"] / ours, 2),
        }
    total = anchor["regression_s"] + anchor["multilabel_s"]
    out = {
        "speedup": round(total / (out["regression_s"] + out["multilabel_s"]), 2),
        "max_abs_delta": max(deltas.values()),
        **out,
        "max_abs_delta_by_metric": deltas,
        "seeds": len(seeds),
        "openblas_threads": os.environ.get("OPENBLAS_NUM_THREADS", "default"),
        "shape": list(data["X"].shape),
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main(*sys.argv[1:3])
