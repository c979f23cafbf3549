"""Logistic probes on wide k-mer features: mrnaprobe's engine against scikit-learn.

The k-mer baseline (mRNABench's naive baseline, ~21,800 columns) of a real classification
dataset from the default config, without its subsample, and one seed's random split
(70/15/15, as mRNABench splits). One BLAS thread per fit, as a probe job runs each seed.
Fits on the train rows and scores the test rows with:

- `ours`: the basis a probe job picks (`Embeddings.logistic_basis`: the centred columns
  where they pay, else the train spectrum);
- `ours-spectrum`: the train spectrum (dual eigendecomposition), the only choice before.
  Its kernel is timed apart (`kernel_s`, all threads): a probe job computes it once for
  all seeds, and not at all where every fit takes the columns;
- `sklearn`: LogisticRegression(max_iter=5000) per label, as mRNABench runs it;
- `optimum`: the same solved to tol 1e-10 (float64), the reference.

    python benchmarks/probe_wide.py --dataset rbp-elavl1        # 10,000 windows
    python benchmarks/probe_wide.py --dataset loc-dm3loc --rows 0

Prints one JSON line per solver: seconds, the largest distance of a test probability from
the optimum's, and test AUPRC (micro over labels); then the speedup of `ours` over each.
"""

import argparse
import json
import time
from pathlib import Path

import numpy as np
import yaml
from sklearn.linear_model import LogisticRegression
from threadpoolctl import threadpool_limits

from mrnaprobe.data import build_dataset, resolve_source, target_frame
from mrnaprobe.embed import naive_baseline
from mrnaprobe.linear import Embeddings, fit_logistic
from mrnaprobe.probe import classification_metrics
from mrnaprobe.splits import random_folds

ROOT = Path(__file__).resolve().parents[1]


def load(name: str, rows: int, mirror: Path):
    """k-mer features and the 0/1 label matrix of a dataset's first classification target."""
    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    entry = {**config["datasets"][name]}
    entry.pop("subsample", None)
    if rows:
        entry["subsample"] = {"rows": rows, "seed": 0}
    dataset = build_dataset(name, entry, resolve_source(entry["source"], mirror, "cache"))
    target, spec = next((t, s) for t, s in entry["targets"].items() if s["task"] != "regression")
    present, Y = target_frame(dataset, target, spec)
    X = naive_baseline(dataset["sequence"].iloc[present].tolist())
    return X, np.asarray(Y, dtype=int).reshape(len(present), -1), config["seeds"][0]


def sklearn_fit(X, Y, **options):
    """One LogisticRegression per label; a predict function for positive probabilities."""
    models = [LogisticRegression(**options).fit(X, Y[:, j]) for j in range(Y.shape[1])]
    return lambda X_eval: np.column_stack([m.predict_proba(X_eval)[:, 1] for m in models])


def timed(fit):
    start = time.perf_counter()
    predict = fit()
    return predict, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="rbp-elavl1")
    parser.add_argument("--rows", type=int, default=0, help="subsample (0: all rows)")
    parser.add_argument("--mirror", type=Path, default=ROOT.parent / "shared" / "data")
    args = parser.parse_args()
    X, Y, seed = load(args.dataset, args.rows, args.mirror)
    folds = random_folds(len(X), seed, (0.7, 0.15, 0.15))
    train, test = np.flatnonzero(folds == "train"), folds == "test"
    start = time.perf_counter()
    emb = Embeddings(X)  # computes the kernel (d > rows), on all threads
    kernel_s = time.perf_counter() - start
    shape = {"rows": len(X), "features": X.shape[1], "train": len(train), "labels": Y.shape[1]}
    print(json.dumps({"dataset": args.dataset, **shape, "kernel_s": round(kernel_s, 2)}))
    fits = {
        "ours": lambda: fit_logistic(emb.logistic_basis(train), Y[train]),
        "ours-spectrum": lambda: fit_logistic(emb.spectrum(train), Y[train]),
        "sklearn": lambda: sklearn_fit(X[train], Y[train], max_iter=5000),
        "optimum": lambda: sklearn_fit(
            X[train].astype(np.float64), Y[train], max_iter=20000, tol=1e-10
        ),  # fmt: skip
    }
    results = {}
    with threadpool_limits(1):
        for name, fit in fits.items():
            predict, seconds = timed(fit)
            results[name] = (seconds, predict(X[test]))
    reference = results["optimum"][1]
    for name, (seconds, probabilities) in results.items():
        print(json.dumps({
            "solver": name,
            "seconds": round(seconds, 2),
            "distance": float(np.abs(probabilities - reference).max()),
            "test_auprc": classification_metrics(Y[test], probabilities)["auprc"],
            "ours_speedup": round(seconds / results["ours"][0], 2),
        }))  # fmt: skip


if __name__ == "__main__":
    main()
