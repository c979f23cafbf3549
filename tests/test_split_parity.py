"""Our mRNABench splits against folds recorded from mrna-bench 1.3.2's own splitters
(scripts/mrnabench/record_splits.py): the same fold for every row, case, target and seed."""

import importlib.util
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mrnaprobe import MrnaProbeError
from mrnaprobe.splits import build_gene_group_map, counts_by_size, make_split, seed_folds

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests/fixtures/mrnabench"
FRACTIONS = [0.7, 0.15, 0.15]
MANIFEST = json.loads((FIXTURES / "splits.json").read_text())
CODES = {"train": 0, "val": 1, "test": 2}


def split_cases():
    """scripts/mrnabench/split_cases.py, which built the recorded inputs."""
    path = ROOT / "scripts/mrnabench/split_cases.py"
    spec = importlib.util.spec_from_file_location("split_cases", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


CASES = split_cases()


@pytest.fixture(scope="module")
def recorded():
    with np.load(FIXTURES / "splits.npz") as archive:
        return {key: archive[key] for key in archive.files}


@pytest.fixture(scope="module")
def gene_groups(mirror):
    table = build_gene_group_map(mirror / CASES.HOMOLOGENE, "homologene", taxid=9606)
    return dict(zip(table["gene_name"], table["gene_group"], strict=True))


@pytest.fixture(scope="module")
def case_frames(mirror):
    frames = {}

    def load(case):
        if case not in frames:
            frames[case] = CASES.load_case(case, mirror)
            assert CASES.fingerprint(frames[case]) == MANIFEST["cases"][case]["fingerprint"]
        return frames[case]

    return load


def our_codes(frame, target, kind, seed, gene_groups):
    """Fold codes per row of our split on the target's measured rows (-1: missing)."""
    rows = np.flatnonzero(frame[target].notna().to_numpy())
    subset = frame.iloc[rows].reset_index(drop=True)
    options = {"fractions": FRACTIONS, "gene_groups": gene_groups}
    folds = seed_folds(kind, subset, None, options)(seed)
    codes = np.full(len(frame), -1, dtype=np.int8)
    codes[rows] = [CODES[f] for f in folds]
    return codes


PARAMS = [
    pytest.param(case, name, target, id=f"{case}/{name}/{target}")
    for case, spec in MANIFEST["cases"].items()
    for name in spec["splitters"]
    for target in spec["targets"]
]


def skip_unless_ties_sort_as_recorded(measured, chromosomes, recorded_order):
    """mRNABench orders chromosomes of equal size as numpy's unstable quicksort leaves them,
    which depends on the CPU's sorting kernels (AVX-512 or not): where this machine orders
    the recorded case's ties otherwise, mRNABench itself would give other folds here."""
    names = counts_by_size(chromosomes[measured].to_numpy())[0]
    if list(names) != recorded_order:
        pytest.skip("this CPU's numpy orders tied chromosome sizes unlike the recording's")


@pytest.mark.parametrize("case,name,target", PARAMS)
def test_folds_match_mrnabench(case, name, target, recorded, case_frames, gene_groups):
    frame, kind, key = case_frames(case), CASES.SPLITTERS[name], f"{case}/{name}/{target}"
    if error := MANIFEST["errors"].get(key):  # mRNABench refuses this seed: so do we
        assert "only one unique chromosome" in error["error"]
        with pytest.raises(MrnaProbeError, match="fewer than 2 chromosomes"):
            our_codes(frame, target, kind, error["seed"], gene_groups)
        return
    if order := MANIFEST["chromosome_orders"].get(key):
        skip_unless_ties_sort_as_recorded(frame[target].notna(), frame["chromosome"], order)
    for seed, expected in zip(MANIFEST["seeds"], recorded[key], strict=True):
        codes = our_codes(frame, target, kind, seed, gene_groups)
        differ = np.flatnonzero(codes != expected)
        assert not len(differ), f"seed {seed}: {len(differ)} rows differ, first row {differ[0]}"


def test_recorded_cases_cover_the_brief():
    """Every mRNABench splitter, the sizes where train_size=0.7 and test_size=0.3 differ,
    real tables, targets with missing values, and the 10 paper seeds."""
    cases = MANIFEST["cases"]
    assert {f"synthetic-{n}" for n in (10, 90, 170, 180, 330, 1579)} <= set(cases)
    assert {n for spec in cases.values() for n in spec["splitters"]} == set(CASES.SPLITTERS)
    assert MANIFEST["seeds"] == [2541, 413, 411, 412, 2547, 321, 421, 311, 2516, 2515]
    assert (FIXTURES / "splits.npz").stat().st_size < 600_000


def test_random_split_differs_from_a_train_size_split_at_90_rows(recorded):
    """At 90 rows train_size=0.7 keeps 62 rows for train, test_size=0.3 keeps 63."""
    from sklearn.model_selection import train_test_split

    codes = recorded["synthetic-90/default/y"][0]
    assert (codes == 0).sum() == 63
    assert len(train_test_split(np.arange(90), train_size=0.7, random_state=2541)[0]) == 62


def test_missing_targets_are_dropped_before_the_split(recorded, case_frames, gene_groups):
    """mRNABench splits a target's measured rows only: a target with missing values gets
    other folds than the full rows, and make_split stores them under its name."""
    frame = case_frames("mrl-hl-leppek")
    full = recorded["mrl-hl-leppek/default/ribosome_load"]
    own = recorded["mrl-hl-leppek/default/half_life_in_cell"]
    measured = frame["half_life_in_cell"].notna().to_numpy()
    assert (own[:, ~measured] == -1).all()
    assert (own[:, measured] != full[:, measured]).any()  # not the full split minus NaN rows
    targets = {"ribosome_load": {"task": "regression"}, "half_life_in_cell": {"task": "regression"}}
    split = make_split("random", frame, None, MANIFEST["seeds"], {"fractions": FRACTIONS}, targets)
    assert set(split["target"].dropna()) == {"half_life_in_cell"}
    for target, expected in (("ribosome_load", full), ("half_life_in_cell", own)):
        rows = split["target"].isna() if target == "ribosome_load" else split["target"] == target
        for seed, codes in zip(MANIFEST["seeds"], expected, strict=True):
            folds = split[rows & (split["seed"] == seed)].set_index("id")["fold"]
            ours = folds.reindex(frame["id"]).map(CODES).fillna(-1).to_numpy()
            assert np.array_equal(ours, codes)


def test_gene_group_map_from_homologene_is_the_human_map(mirror):
    built = build_gene_group_map(mirror / CASES.HOMOLOGENE, "homologene", taxid=9606)
    shared = pd.read_csv(mirror / CASES.HUMAN_MAP)[["gene_name", "gene_group"]]
    key = ["gene_name", "gene_group"]
    pd.testing.assert_frame_equal(
        built.sort_values(key).reset_index(drop=True),
        shared.sort_values(key).reset_index(drop=True),
        check_dtype=False,
    )


def test_probe_reads_the_folds_of_its_target(case_frames):
    """probe_seed fits each target on its own folds: n_train as mRNABench's split gives it."""
    from mrnaprobe.probe import probe_seed

    frame = case_frames("mrl-hl-leppek")
    targets = {"ribosome_load": {"task": "regression"}, "half_life_in_cell": {"task": "regression"}}
    seed = MANIFEST["seeds"][0]
    split = make_split("random", frame, None, [seed], {"fractions": FRACTIONS}, targets)
    X = np.random.default_rng(0).normal(size=(len(frame), 8))
    table = probe_seed(frame, X, split, targets, seed, solver="sklearn")
    n_train = table.groupby("target")["n_train"].first().to_dict()
    assert n_train == {"ribosome_load": int(233 * 0.7), "half_life_in_cell": int(203 * 0.7)}
