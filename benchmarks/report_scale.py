"""The report stage at paper scale: a synthetic run of N models x M tasks (probe tables,
embedding sidecars, split audits and a config, as the workflow lays them out), then the
report rules through Snakemake (`--allowed-rules`, so no upstream job runs) and
`snakemake --report`; prints each rule's wall time and peak memory (Snakemake's
`benchmark:` files) and the HTML report's.

    .venv/bin/python benchmarks/report_scale.py --models 45 --tasks 83 --workdir /tmp/scale

The tests build a small run with the same code (tests/test_report.py).
"""

import argparse
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parents[1]
REPORT_RULES = ["report", "report_leaderboard", "report_models", "report_scaling",
                "report_statistics", "report_per_label", "report_leakage",
                "report_compositional"]  # fmt: skip
FAMILIES = ["nucleotide-transformer", "dnabert2", "hyenadna", "caduceus", "evo2", "rna-fm",
            "rinalmo", "utr-lm", "splicebert", "ernie-rna", "rna-msm", "3utrbert", "orthrus",
            "dnabert-s"]  # fmt: skip
TASK_FAMILIES = ["binding", "function", "localization", "half-life", "MRL", "TE",
                 "variant effect", "ribosome load"]  # fmt: skip


def known_splits() -> list:
    """The split types the config schema accepts."""
    schema = yaml.safe_load((ROOT / "workflow/schemas/config.schema.yaml").read_text())
    return schema["$defs"]["split"]["enum"]


def layout(n_tasks: int, labels: int) -> dict:
    """dataset -> {target: spec}: two 20-target binary datasets (eCLIP-like) when there are
    40+ tasks, then one target per dataset cycling regression, binary, multilabel."""
    sizes = [20, 20] if n_tasks >= 40 else [min(2, n_tasks)]
    sizes += [1] * (n_tasks - sum(sizes))
    datasets = {}
    for d, size in enumerate(sizes):
        kinds = ["binary"] * size if size > 1 else [("regression", "binary", "multilabel")[d % 3]]
        datasets[f"d{d:02d}"] = {
            f"t{k}": {"task": kind, **({"columns": [f"L{j}" for j in range(labels)]}
                                       if kind == "multilabel" else {})}
            for k, kind in enumerate(kinds)
        }  # fmt: skip
    return datasets


def config(n_models: int, n_tasks: int, seeds: list, splits: list, labels: int) -> dict:
    """A valid workflow config: synthetic datasets (url sources, never read) and models (a
    k-mer baseline, then families of growing sizes with catalog parameter counts)."""
    datasets = {
        name: {
            "source": {"url": f"https://example.org/{name}.csv"},
            "format": "csv",
            "columns": {"gene": "gene"},  # the homologene split needs gene names
            "task_family": TASK_FAMILIES[d % len(TASK_FAMILIES)],
            "resolution": "nucleotide" if d % 4 == 0 else "transcript",
            "splits": splits,
            "targets": targets,
        }
        for d, (name, targets) in enumerate(layout(n_tasks, labels).items())
    }
    models = {"kmer-naive": {"kind": "kmer", "family": "baseline"}}
    for m in range(1, n_models):
        family = FAMILIES[(m - 1) % len(FAMILIES)]
        size = 10 ** (6 + (m - 1) // len(FAMILIES)) * (1 + m % 7)
        entry = {"kind": "encoder", "family": family, "source": f"synthetic/{family}"}
        models[f"m{m:02d}-{family}"] = {**entry, "params": int(size)}
    maps = {"human": {"source": {"url": "https://example.org/human_map.csv"}, "format": "map"}}
    return {"seeds": seeds, "splits": splits, "datasets": datasets, "models": models,
            "report": {"ddof": 0}, **({"gene_group_maps": maps} if "homologene" in splits
                                      else {})}  # fmt: skip


def probe_table(rng, dataset, targets, model, split, seeds, quality) -> pd.DataFrame:
    """Every seed's probe rows of one dataset x model x split, as scripts/probe.py writes."""
    rows = []
    drop = {"random": 0.0}.get(split, 0.06)
    for target, spec in targets.items():
        for seed in seeds:
            for fold in ("val", "test"):
                score = float(np.clip(quality - drop + rng.normal(0, 0.02), 0.01, 0.99))
                if spec["task"] == "regression":
                    values = [("", "mse", 1 - score), ("", "pearson", score),
                              ("", "spearman", score - 0.01)]  # fmt: skip
                else:
                    values = [("", "auroc", 0.5 + score / 2), ("", "auprc", score)]
                if spec["task"] == "multilabel":
                    values += [("", "auroc_macro", 0.45 + score / 2),
                               ("", "auprc_macro", score - 0.1)]  # fmt: skip
                    for j, label in enumerate(spec["columns"]):
                        prevalence = 0.05 + 0.9 * j / len(spec["columns"])
                        values += [(label, "auroc", 0.5 + score / 2),
                                   (label, "auprc", prevalence + (1 - prevalence) * score / 2),
                                   (label, "prevalence", prevalence)]  # fmt: skip
                rows += [(target, spec["task"], label, seed, fold, metric, value, 700, 150)
                         for label, metric, value in values]  # fmt: skip
    columns = ["target", "task", "label", "seed", "fold", "metric", "value", "n_train", "n_eval"]
    return pd.DataFrame(rows, columns=columns).assign(
        dataset=dataset, model=model, split=split, dataset_sha256="0" * 64,
        model_source=model, model_revision="main", code_version="synthetic",
        probe_solver="fast", probe_bfloat16=False,
    )  # fmt: skip


def write_run(root, n_models=45, n_tasks=83, n_seeds=10, splits=None, labels=7, seed=0):
    """A synthetic results/ tree (probes, sidecars, audits) and config.yaml under `root`."""
    root = Path(root)
    splits = splits or [s for s in ("random", "homologene", "homology", "kmer")
                        if s in known_splits()]  # fmt: skip
    seeds = list(range(1, n_seeds + 1))
    cfg = config(n_models, n_tasks, seeds, splits, labels)
    (root / "config.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    rng = np.random.default_rng(seed)
    quality = {m: rng.uniform(0.3, 0.8) for m in cfg["models"]}
    for dataset, entry in cfg["datasets"].items():
        for split in splits:
            audit = {"dataset": dataset, "split": split, "min_seq_id": 0.8, "coverage": 0.8,
                     "command": "synthetic", "seeds": {str(s): {"test": {
                         "n": 150, "n_with_train_hit": 3, "fraction": 0.02,
                         "max_identity": 0.9}} for s in seeds}}  # fmt: skip
            path = root / f"results/splits/{dataset}/{split}.audit.json"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(pd.Series(audit).to_json())
        for model, spec in cfg["models"].items():
            sidecar = {"model": model, "run": {"params": spec["params"]} if "params" in spec
                       and model.startswith("m01") else {}}  # fmt: skip
            path = root / f"results/embeddings/{model}/{dataset}.json"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(pd.Series(sidecar).to_json())
            for split in splits:
                table = probe_table(rng, dataset, entry["targets"], model, split, seeds,
                                    quality[model])  # fmt: skip
                folder = root / f"results/probes/{dataset}/{model}/{split}"
                folder.mkdir(parents=True, exist_ok=True)
                for s, part in table.groupby("seed"):
                    part.to_parquet(folder / f"seed{s}.parquet", index=False)
    return cfg


def snakemake(root, *args, cores=2):
    """The workflow's report rules on `root` (no upstream rule may run)."""
    command = [sys.executable, "-m", "snakemake", "--snakefile", str(ROOT / "Snakefile"),
               "--directory", str(root), "--configfile", str(Path(root) / "config.yaml"),
               "--cores", str(cores), "--allowed-rules", *REPORT_RULES, "all", *args]  # fmt: skip
    return subprocess.run(command, cwd=root, capture_output=True, text=True)


def run_report(root, cores=2) -> pd.DataFrame:
    """Run the report rules and the HTML report; per rule: wall seconds and peak RSS (MB)."""
    started = time.perf_counter()
    done = snakemake(root, cores=cores)
    if done.returncode:
        raise RuntimeError(done.stderr[-3000:])
    total = time.perf_counter() - started
    rows = []
    for rule in REPORT_RULES:
        bench = pd.read_csv(Path(root) / f"results/benchmarks/report/{rule}.tsv", sep="\t")
        rows.append({"step": rule, "seconds": bench["s"].iloc[0],
                     "max_rss_mb": bench["max_rss"].iloc[0]})  # fmt: skip
    started = time.perf_counter()
    done = snakemake(root, "--report", "results/report.html", cores=1)
    if done.returncode:
        raise RuntimeError(done.stderr[-3000:])
    rows.append({"step": "snakemake --report", "seconds": time.perf_counter() - started})
    rows.append({"step": "all report rules (snakemake, incl. DAG)", "seconds": total})
    return pd.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", type=int, default=45)
    parser.add_argument("--tasks", type=int, default=83)
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--workdir", required=True, help="an empty folder")
    args = parser.parse_args()
    root = Path(args.workdir)
    root.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    cfg = write_run(root, args.models, args.tasks, args.seeds)
    files = len(list((root / "results/probes").rglob("*.parquet")))
    print(f"synthetic run: {len(cfg['models'])} models x {args.tasks} tasks "
          f"({len(cfg['datasets'])} datasets) x {len(cfg['splits'])} splits x {args.seeds} seeds, "
          f"{files} probe tables, written in {time.perf_counter() - started:.0f} s")  # fmt: skip
    table = run_report(root, args.cores)
    metrics = pd.read_parquet(root / "results/tables/metrics.parquet", columns=["value"])
    print(f"metrics.parquet: {len(metrics):,} rows")
    print(table.to_string(index=False, float_format=lambda v: f"{v:.1f}"))


if __name__ == "__main__":
    main()
