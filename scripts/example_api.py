"""The README's Python API example: probe one real dataset without Snakemake."""

from pathlib import Path

import pandas as pd
import yaml

from mrnaprobe.data import build_dataset
from mrnaprobe.embed import naive_baseline
from mrnaprobe.probe import probe_seeds
from mrnaprobe.report import summarise
from mrnaprobe.splits import make_split

entry = yaml.safe_load(Path("config/config.yaml").read_text())["datasets"]["mrl-hl-leppek"]
dataset = build_dataset("mrl-hl-leppek", entry, "../shared/data/" + entry["source"]["path"])
X = naive_baseline(dataset["sequence"].tolist())
seeds = [2541, 413, 411]
split = make_split("random", dataset, None, seeds, {"fractions": (0.7, 0.15, 0.15)})
metrics = pd.concat(probe_seeds(dataset, X, split, entry["targets"], seeds, threads=2))
summary = summarise(metrics.assign(dataset="mrl-hl-leppek", model="kmer", split="random"))
print(summary[summary["fold"] == "test"].to_string(index=False))
