"""Record the fold of every row under mRNABench's own splitters, as facts for our parity
tests: tests/fixtures/mrnabench/splits.npz (fold codes) and splits.json (cases, errors).

Run with mRNABench's environment (scripts/mrnabench/venv.sh; mrna-bench is AGPL: this
script only runs it and records what it returns, no code of it is copied):

    "${MRNABENCH_VENV:-.venv-mrnabench}"/bin/python scripts/mrnabench/record_splits.py

For each case of split_cases.CASES, splitter and target, and each of the 10 paper seeds:
the fold of every row as mRNABench's LinearProbe.get_df_splits makes them (it drops the
target's missing rows, then splits; checked here wherever it runs). Codes: 0 train, 1 val,
2 test, -1 not in the split (target missing).
The homology splitter reads NCBI HomoloGene build 68's human map (the shared mirror's
homologene68_human_homology_map.csv, in mRNABench's {species}_homology_map.csv layout).
"""

import argparse
import contextlib
import io
import json
import shutil
import sys
import tempfile
from importlib.metadata import version
from pathlib import Path

import numpy as np
from mrna_bench.data_splitter.split_catalog import SPLIT_CATALOG
from mrna_bench.linear_probe.linear_probe import LinearProbe
from split_cases import CASES, HUMAN_MAP, SEEDS, fingerprint, load_case

ROOT = Path(__file__).resolve().parents[2]
FOLD_CODES = {"train_X": 0, "val_X": 1, "test_X": 2}


def splitter(name: str, maps: Path):
    """mRNABench's splitter of that name, 70/15/15."""
    if name == "homology":
        return SPLIT_CATALOG[name](species="human", homology_map_path=str(maps))
    return SPLIT_CATALOG[name]()


def probe_codes(frame, target: str, split, seed: int) -> np.ndarray:
    """Fold code per row for one target and seed, by mRNABench's LinearProbe.get_df_splits
    (each row's embedding is its row number, so the returned arrays name the rows)."""
    rows = np.arange(len(frame), dtype=float).reshape(-1, 1)
    probe = LinearProbe(frame.copy(), rows, target, "regression", split, None, True)
    folds = probe.get_df_splits(seed)
    codes = np.full(len(frame), -1, dtype=np.int8)
    for key, code in FOLD_CODES.items():
        if key in folds:
            codes[folds[key][:, 0].astype(int)] = code
    return codes


def fold_codes(frame, target: str, split, seed: int) -> np.ndarray:
    """Fold code per row for one target and seed: the splitter's get_all_splits_df on the
    rows with the target measured, checked against LinearProbe.get_df_splits (which drops
    them the same way) wherever that one runs (it fails when the train fold is empty)."""
    with contextlib.redirect_stdout(io.StringIO()):  # its splitters print progress
        parts = split.get_all_splits_df(frame.dropna(subset=[target]).copy(), random_seed=seed)
        codes = np.full(len(frame), -1, dtype=np.int8)
        for code, part in enumerate(parts):
            codes[part.index.to_numpy(dtype=int)] = code
        try:
            probed = probe_codes(frame, target, split, seed)
        except IndexError:
            return codes
    if not np.array_equal(probed, codes):
        raise SystemExit(f"LinearProbe and get_all_splits_df disagree on {target} seed {seed}")
    return codes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mirror", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--out", type=Path, default=ROOT / "tests/fixtures/mrnabench")
    args = parser.parse_args()
    maps = Path(tempfile.mkdtemp(prefix="homology-maps-"))
    shutil.copy(args.mirror / HUMAN_MAP, maps / "human_homology_map.csv")
    arrays = {}
    manifest = {
        "mrna_bench": version("mrna-bench"),
        "pandas": version("pandas"),
        "scikit-learn": version("scikit-learn"),
        "seeds": SEEDS,
        "codes": {"train": 0, "val": 1, "test": 2, "absent": -1},
        "cases": {},
        "errors": {},
        "chromosome_orders": {},
    }
    for case, spec in CASES.items():
        frame = load_case(case, args.mirror)
        manifest["cases"][case] = {"rows": len(frame), "fingerprint": fingerprint(frame), **spec}
        for name in spec["splitters"]:
            split = splitter(name, maps)
            for target in spec["targets"]:
                key = f"{case}/{name}/{target}"
                if name == "chromosome":  # pandas' order of tied sizes depends on the CPU
                    measured = frame.dropna(subset=[target])["chromosome"]
                    manifest["chromosome_orders"][key] = measured.value_counts().index.tolist()
                codes = []
                for seed in SEEDS:
                    try:
                        codes.append(fold_codes(frame, target, split, seed))
                    except ValueError as err:  # recorded: ours must refuse the same seed
                        manifest["errors"][key] = {"seed": seed, "error": str(err)}
                        break
                else:
                    arrays[key] = np.stack(codes)
                print(key, manifest["errors"].get(key, "ok"), file=sys.stderr)
    shutil.rmtree(maps)
    args.out.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.out / "splits.npz", **arrays)
    (args.out / "splits.json").write_text(json.dumps(manifest, indent=1) + "\n")


if __name__ == "__main__":
    main()
