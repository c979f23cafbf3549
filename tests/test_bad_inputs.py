"""Malformed inputs: each stops with ONE line naming the file, row or config key, a non-zero
exit and no partial output.

Cases already covered elsewhere (not repeated here): bad characters, empty sequence, duplicate
id, missing target column, all-NaN and non-numeric targets, corrupt FASTA gzip, unknown mirror
file (resolve_source) in test_data.py; too-small homology split and unknown split type in
test_splits.py; one-class binary target, embedding rows != dataset rows and a split without the
seed in test_probe.py; an unknown top-level config key in test_workflow.py.

The `cli_*` cases run the real workflow: one Snakemake run (--keep-going) over a tiny catalog
of broken datasets, each failing in its own job; the config cases run Snakemake once each.
"""

import gzip
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from mrnaprobe import MrnaProbeError
from mrnaprobe.config import check_config
from mrnaprobe.data import build_dataset, download
from mrnaprobe.probe import check_embeddings, load_embeddings, probe_seed
from mrnaprobe.splits import make_split, random_folds
from tests.conftest import MIRROR, ROOT

pytestmark = pytest.mark.bad_input

SNAKEMAKE = [sys.executable, "-m", "snakemake", "--snakefile", str(ROOT / "Snakefile")]
SCHEMA = ROOT / "workflow" / "schemas" / "config.schema.yaml"
FRACTIONS = (0.7, 0.15, 0.15)
CLINVAR_MAP = {"Pathogenic": 1, "Benign": 0}


def random_sequences(n, length=60, seed=0):
    rng = np.random.default_rng(seed)
    return ["".join(rng.choice(list("ACGT"), length)) for _ in range(n)]


def assert_one_line(error, *needles):
    """A raised MrnaProbeError is one line holding every needle."""
    message = str(error.value)
    assert "\n" not in message, message
    for needle in needles:
        assert str(needle) in message, message


def table(n=8, **columns):
    """A tiny source table: ids r1..rn, random 60-nt sequences, then the given columns."""
    return pd.DataFrame(
        {"name": [f"r{i + 1}" for i in range(n)], "seq": random_sequences(n), **columns}
    )


REGRESSION = {"format": "csv", "columns": {"id": "name", "sequence": "seq"},
              "targets": {"y": {"task": "regression"}}}  # fmt: skip


# ---- the real workflow on a catalog of broken datasets ---------------------------------------


def broken_catalog(mirror: Path) -> tuple[dict, dict]:
    """Write the broken source files; return their catalog entries and each one's outputs."""
    y = np.linspace(0, 1, 8)
    datasets, outputs = {}, {}

    def add(name, entry, *outs):
        datasets[name] = entry
        outputs[name] = list(outs) or [f"results/data/{name}.parquet", f"results/data/{name}.json"]

    table(y=y).to_csv(mirror / "delimiter.tsv", sep="\t", index=False)
    add("delimiter", {**REGRESSION, "source": {"path": "delimiter.tsv"}})

    table(y=y).to_parquet(mirror / "truncated.parquet")
    data = (mirror / "truncated.parquet").read_bytes()
    (mirror / "truncated.parquet").write_bytes(data[: len(data) // 2])
    add("truncated", {**REGRESSION, "format": "parquet", "source": {"path": "truncated.parquet"}})

    table(y=y).to_csv(mirror / "checksum.csv", index=False)
    add("checksum", {**REGRESSION, "source": {"path": "checksum.csv", "sha256": "0" * 64}})

    seqs = random_sequences(3)
    headers = ["chr1,class:1", "chr2,no label here", "chr3,class:0"]
    (mirror / "header.fa").write_text(
        "".join(f">{h}\n{s}\n" for h, s in zip(headers, seqs, strict=True))
    )
    add("header", {"format": "fasta", "source": {"path": "header.fa"},
                   "header_fields": {"bound": "class:(?P<value>[01])"},
                   "targets": {"bound": {"task": "binary"}}})  # fmt: skip

    table(gene=[f"G{i}" for i in range(8)]).to_csv(mirror / "joinkey.csv", index=False)
    pd.DataFrame({"symbol": [f"G{i}" for i in range(8)], "hl": y}).to_csv(
        mirror / "joinkey_hl.tsv", sep="\t", index=False
    )
    add("joinkey", {**REGRESSION, "source": {"path": "joinkey.csv"},
                    "join": {"source": {"path": "joinkey_hl.tsv"}, "keys": ["gene", "gene_name"],
                             "columns": ["hl"]},
                    "targets": {"half_life": {"task": "regression", "column": "hl"}}})  # fmt: skip

    table(clin_sig=["Uncertain significance"] * 8).to_csv(mirror / "mapempty.csv", index=False)
    pathogenic = {"task": "binary", "column": "clin_sig", "map": CLINVAR_MAP}
    add("mapempty", {**REGRESSION, "source": {"path": "mapempty.csv"},
                     "targets": {"pathogenic": pathogenic}})  # fmt: skip

    calls = ["Uncertain significance"] * 3 + ["Benign", "Pathogenic"] * 2 + ["Benign"]
    badchar = table(clin_sig=calls)
    badchar.loc[4, "seq"] = "ACGTXACGT"  # data row 5, after three rows the map excludes
    badchar.to_csv(mirror / "badchar.csv", index=False)
    add("badchar", {**REGRESSION, "source": {"path": "badchar.csv"},
                    "targets": {"pathogenic": pathogenic}})  # fmt: skip

    table(bound=[0, 1, 2, 0, 1, 0, 1, 0]).to_csv(mirror / "notbinary.csv", index=False)
    add("notbinary", {**REGRESSION, "source": {"path": "notbinary.csv"},
                      "targets": {"bound": {"task": "binary"}}})  # fmt: skip

    data = gzip.compress(table(n=400, y=np.arange(400.0)).to_csv(index=False).encode())
    (mirror / "broken.csv.gz").write_bytes(data[: len(data) // 2])
    add("gzip", {**REGRESSION, "source": {"path": "broken.csv.gz"}})

    table(y=y).to_csv(mirror / "ragged.csv", index=False)
    with open(mirror / "ragged.csv", "a") as handle:
        handle.write("r9,ACGT,0.5,surplus\n")
    add("ragged", {**REGRESSION, "source": {"path": "ragged.csv"}})

    # 18 near-copies of one mRNA and 2 unrelated ones: the homology split cannot fill all folds
    rng = np.random.default_rng(1)
    parent = np.array(list(random_sequences(1, 200, seed=5)[0]))
    copies = []
    for _ in range(18):
        child = parent.copy()
        child[rng.choice(200, 4, replace=False)] = rng.choice(list("ACGT"), 4)
        copies.append("".join(child))
    onecluster = table(n=20, y=np.arange(20.0))
    onecluster["seq"] = copies + random_sequences(2, 200, seed=6)
    onecluster.to_csv(mirror / "onecluster.csv", index=False)
    add("onecluster", {**REGRESSION, "source": {"path": "onecluster.csv"}, "splits": ["homology"]},
        "results/splits/onecluster/homology.parquet",
        "results/splits/onecluster/homology.audit.json")  # fmt: skip

    # multilabel: label l2's only positive row is outside train for seed 1
    folds = random_folds(20, 1, FRACTIONS)
    l2 = np.zeros(20)
    l2[np.flatnonzero(folds != "train")[0]] = 1
    table(n=20, l1=np.arange(20) % 2, l2=l2).to_csv(mirror / "nopositives.csv", index=False)
    add("nopositives", {**REGRESSION, "source": {"path": "nopositives.csv"},
                        "targets": {"localization": {"task": "multilabel",
                                                     "columns": ["l1", "l2"]}}},
        "results/probes/nopositives/kmer-naive/random/seed1.parquet")  # fmt: skip
    return datasets, outputs


def write_config(path: Path, datasets: dict) -> Path:
    models = {"kmer-naive": {"kind": "kmer", "k": [2, 3]}}
    # strict_splits: the onecluster split stops its job (tests/test_byod.py: the n/a cell)
    config = {"seeds": [1], "splits": ["random"], "homology": {"threads": 1},
              "strict_splits": True, "datasets": datasets, "models": models}  # fmt: skip
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def snakemake(workdir: Path, config: Path, mirror: Path, *args):
    command = [*SNAKEMAKE, "--directory", str(workdir), "--configfile", str(config),
               "--config", f"mirror={mirror}", "--cores", "1", *args]  # fmt: skip
    return subprocess.run(command, cwd=workdir, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def broken_run(tmp_path_factory):
    """One Snakemake run over every broken dataset; each fails in its own job."""
    root = tmp_path_factory.mktemp("broken")
    mirror, workdir = root / "mirror", root / "work"
    mirror.mkdir()
    workdir.mkdir()
    datasets, outputs = broken_catalog(mirror)
    config = write_config(root / "config.yaml", datasets)
    targets = [outs[0] for outs in outputs.values()]
    done = snakemake(workdir, config, mirror, "--keep-going", *targets)
    return done, workdir, outputs


def cli_error(broken_run, dataset: str) -> str:
    """The dataset's failed job: its one error line; none of its outputs was left behind."""
    done, workdir, outputs = broken_run
    assert done.returncode != 0
    lines = [line for line in done.stderr.splitlines()
             if line.startswith("mrnaprobe: error:")
             and re.search(rf"\[dataset={re.escape(dataset)}[] ]", line)]  # fmt: skip
    assert len(lines) == 1, done.stderr[-3000:]
    for output in outputs[dataset]:
        assert not (workdir / output).exists(), output
    return lines[0]


def test_bad_input_cli_failures_print_no_traceback(broken_run):
    done, _, outputs = broken_run
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    assert done.stderr.count("mrnaprobe: error:") == len(outputs)


def test_bad_input_cli_tsv_declared_as_csv_names_the_missing_column(broken_run):
    line = cli_error(broken_run, "delimiter")
    assert "delimiter.tsv: column 'seq' not found" in line


def test_bad_input_cli_truncated_parquet(broken_run):
    assert "truncated.parquet: cannot read as parquet" in cli_error(broken_run, "truncated")


def test_bad_input_cli_checksum_mismatch(broken_run):
    line = cli_error(broken_run, "checksum")
    assert "checksum.csv: sha256" in line and f"does not match the catalog's {'0' * 64}" in line


def test_bad_input_cli_fasta_header_not_matching_header_fields(broken_run):
    line = cli_error(broken_run, "header")
    assert "header.fa: record 2 header does not match 'class:(?P<value>[01])'" in line


def test_bad_input_cli_join_key_missing_from_join_table(broken_run):
    assert "joinkey_hl.tsv: column 'gene_name' not found" in cli_error(broken_run, "joinkey")


def test_bad_input_cli_value_map_leaves_no_rows(broken_run):
    line = cli_error(broken_run, "mapempty")
    assert "mapempty.csv: target 'pathogenic': no value of column 'clin_sig' is in its map" in line


def test_bad_input_cli_bad_character_names_the_file_row_after_filtering(broken_run):
    line = cli_error(broken_run, "badchar")
    assert "badchar.csv: row 5 (id r5): characters 'X' outside A/C/G/T/U/N" in line


def test_bad_input_cli_binary_target_outside_0_1(broken_run):
    line = cli_error(broken_run, "notbinary")
    assert "notbinary.csv: row 3: binary target column 'bound' value 2 is not 0 or 1" in line


def test_bad_input_cli_truncated_gzip_csv(broken_run):
    line = cli_error(broken_run, "gzip")
    assert "broken.csv.gz: cannot read as csv (Compressed file ended" in line


def test_bad_input_cli_row_with_a_surplus_field(broken_run):
    line = cli_error(broken_run, "ragged")
    assert "ragged.csv: cannot read as csv (Error tokenizing data" in line
    assert "line 10" in line


def test_bad_input_cli_homology_split_with_an_empty_fold(broken_run):
    line = cli_error(broken_run, "onecluster")
    assert "[dataset=onecluster split=homology] split seed 1: fold" in line and "is empty" in line


def test_bad_input_cli_multilabel_label_without_positives_in_train(broken_run):
    line = cli_error(broken_run, "nopositives")
    assert "[dataset=nopositives model=kmer-naive split=random]" in line
    assert "target 'localization' label 1: only class 0 in the train fold of seed 1" in line


def config_error(tmp_path, datasets) -> str:
    """A Snakemake run stopped by the config check: its one error line; nothing was written."""
    workdir = tmp_path / "work"
    workdir.mkdir()
    done = snakemake(workdir, write_config(tmp_path / "config.yaml", datasets), tmp_path)
    assert done.returncode != 0
    lines = [line for line in done.stderr.splitlines() if "mrnaprobe: error:" in line]
    assert len(lines) == 1 and lines[0].startswith("mrnaprobe: error: config key"), done.stderr
    assert "Traceback" not in done.stderr
    assert not (workdir / "results").exists()
    return lines[0]


def test_bad_input_cli_missing_mirror_file(tmp_path):
    line = config_error(tmp_path, {"absent": {**REGRESSION, "source": {"path": "absent.csv"}}})
    assert "config key datasets.absent.source: source 'absent.csv': not in the mirror" in line


def test_bad_input_cli_unknown_split_name(tmp_path):
    table(y=np.arange(8.0)).to_csv(tmp_path / "toy.csv", index=False)
    entry = {**REGRESSION, "source": {"path": "toy.csv"}, "splits": ["stratified"]}
    line = config_error(tmp_path, {"toy": entry})
    assert "config key datasets.toy.splits.0: 'stratified' is not one of" in line


# ---- the probe script on a planted embedding file (security: never unpickle) ----------------

PROBE_DRIVER = """
import runpy, sys, json
paths = json.loads(sys.argv[1])

class Named(list):
    def __init__(self, **items):
        super().__init__(items.values())
        self.__dict__.update(items)
        self._items = items

    def items(self):
        return self._items.items()

snakemake = Named()
snakemake.input = Named(**paths["input"])
snakemake.output = Named(out=paths["output"])
snakemake.log = []
snakemake.threads = 1
snakemake.params = Named(seeds=[1], targets={"y": {"task": "regression"}})
snakemake.wildcards = Named(dataset="toy", model="m", split="random")
runpy.run_path(paths["script"], init_globals={"snakemake": snakemake})
"""


def test_bad_input_object_array_embedding_is_refused_by_the_probe_script(tmp_path):
    import json

    dataset = pd.DataFrame({"id": ["a", "b"], "sequence": ["ACGT", "ACGA"], "y": [1.0, 2.0]})
    dataset.to_parquet(tmp_path / "toy.parquet")
    np.save(tmp_path / "emb.npy", np.array([{"a": 1}, None], dtype=object), allow_pickle=True)
    paths = {
        "script": str(ROOT / "scripts" / "probe.py"),
        "input": {"dataset": str(tmp_path / "toy.parquet"), "embeddings": str(tmp_path / "emb.npy"),
                  "sidecar": str(tmp_path / "emb.json"), "split": str(tmp_path / "split.parquet")},
        "output": str(tmp_path / "seed1.parquet"),
    }  # fmt: skip
    done = subprocess.run([sys.executable, "-c", PROBE_DRIVER, json.dumps(paths)], cwd=ROOT,
                          capture_output=True, text=True)  # fmt: skip
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        f"mrnaprobe: error: [dataset=toy model=m split=random] {tmp_path / 'emb.npy'}: cannot "
        "load as a numeric .npy array (Object arrays cannot be loaded when allow_pickle=False)"
    ]
    assert not (tmp_path / "seed1.parquet").exists()


# ---- unit level: the data stage ---------------------------------------------------------------


def build(tmp_path, frame: pd.DataFrame, entry=REGRESSION, name="toy.csv"):
    path = tmp_path / name
    frame.to_csv(path, index=False)
    with pytest.raises(MrnaProbeError) as error:
        build_dataset("toy", entry, path)
    return error, path


def test_bad_input_missing_id(tmp_path):
    frame = table(y=np.arange(8.0))
    frame.loc[1, "name"] = None
    error, path = build(tmp_path, frame)
    assert_one_line(error, f"{path}: row 2: missing id")


def test_bad_input_empty_file(tmp_path):
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(MrnaProbeError) as error:
        build_dataset("toy", REGRESSION, tmp_path / "empty.csv")
    assert_one_line(error, "empty.csv: cannot read as csv (No columns to parse from file)")


def test_bad_input_not_utf8(tmp_path):
    (tmp_path / "latin.csv").write_bytes(b"name,seq,y\nr1,ACGT,1\nr2,AC\xffGT,2\n")
    with pytest.raises(MrnaProbeError) as error:
        build_dataset("toy", REGRESSION, tmp_path / "latin.csv")
    assert_one_line(error, "latin.csv: cannot read as csv", "can't decode byte 0xff")


def test_bad_input_fasta_sequence_before_first_header(tmp_path):
    (tmp_path / "headless.fa").write_text("ACGT\n>r1 class:1\nACGT\n")
    entry = {"format": "fasta", "header_fields": {"bound": "class:(?P<value>[01])"},
             "targets": {"bound": {"task": "binary"}}}  # fmt: skip
    with pytest.raises(MrnaProbeError) as error:
        build_dataset("toy", entry, tmp_path / "headless.fa")
    assert_one_line(error, "headless.fa: sequence line before the first '>' header")


def test_bad_input_fasta_without_records(tmp_path):
    (tmp_path / "none.fa").write_text("\n\n")
    entry = {"format": "fasta", "header_fields": {"bound": "class:(?P<value>[01])"},
             "targets": {"bound": {"task": "binary"}}}  # fmt: skip
    with pytest.raises(MrnaProbeError) as error:
        build_dataset("toy", entry, tmp_path / "none.fa")
    assert_one_line(error, "none.fa: no FASTA records")


def test_bad_input_join_key_missing_from_dataset_table(tmp_path):
    table(y=np.arange(8.0)).to_csv(tmp_path / "main.csv", index=False)
    pd.DataFrame({"gene_name": ["G1"], "hl": [1.0]}).to_csv(tmp_path / "hl.tsv", sep="\t")
    entry = {**REGRESSION, "join": {"source": {"path": "hl.tsv"}, "keys": ["gene", "gene_name"],
                                    "columns": ["hl"]}}  # fmt: skip
    with pytest.raises(MrnaProbeError) as error:
        build_dataset("toy", entry, tmp_path / "main.csv", tmp_path / "hl.tsv")
    assert_one_line(error, f"{tmp_path / 'main.csv'}: column 'gene' not found")


def test_bad_input_binary_target_with_one_class_in_the_dataset(tmp_path):
    entry = {**REGRESSION, "targets": {"bound": {"task": "binary"}}}
    error, path = build(tmp_path, table(bound=[1] * 8), entry)
    assert_one_line(error, f"{path}: target column 'bound' has the single value 1 in every row")


def test_bad_input_multilabel_label_without_positives_in_the_dataset(tmp_path):
    labels = {"task": "multilabel", "columns": ["l1", "l2"]}
    entry = {**REGRESSION, "targets": {"loc": labels}}
    error, path = build(tmp_path, table(l1=[0, 1] * 4, l2=[0] * 8), entry)
    assert_one_line(error, f"{path}: target column 'l2' has the single value 0")


def test_bad_input_infinite_target(tmp_path):
    error, path = build(tmp_path, table(y=[1, 2, 3, "inf", 5, 6, 7, 8]))
    assert_one_line(error, f"{path}: row 4: target column 'y' value", "is not a finite number")


# ---- unit level: downloads leave nothing behind ------------------------------------------------


def test_bad_input_download_checksum_mismatch(tmp_path):
    (tmp_path / "src.csv").write_text("name,seq\n")
    cache = tmp_path / "cache"
    with pytest.raises(MrnaProbeError) as error:
        download((tmp_path / "src.csv").as_uri(), cache / "src.csv", "0" * 64)
    assert_one_line(error, "src.csv: downloaded sha256", "does not match the catalog's")
    assert list(cache.iterdir()) == []


def test_bad_input_download_failure(tmp_path):
    cache = tmp_path / "cache"
    with pytest.raises(MrnaProbeError) as error:
        download((tmp_path / "gone.csv").as_uri(), cache / "gone.csv", None)
    assert_one_line(error, "gone.csv: download failed")
    assert list(cache.iterdir()) == []


# ---- unit level: splits and probes -------------------------------------------------------------


@pytest.mark.bad_input
def test_bad_input_dataset_too_small_for_a_random_split():
    dataset = pd.DataFrame({"id": ["a", "b", "c"]})
    with pytest.raises(MrnaProbeError, match="split seed 1"):
        make_split("random", dataset, None, [1], {"fractions": FRACTIONS})


@pytest.fixture
def problem():
    rng = np.random.default_rng(0)
    n = 60
    X = rng.standard_normal((n, 4))
    dataset = pd.DataFrame({"id": [f"r{i}" for i in range(n)], "y": X @ rng.standard_normal(4)})
    split = pd.DataFrame({"id": dataset["id"], "seed": 1, "fold": random_folds(n, 1, FRACTIONS)})
    return dataset, X, split


def test_bad_input_split_with_an_empty_test_fold(problem):
    dataset, X, split = problem
    split.loc[split["fold"] == "test", "fold"] = "val"
    with pytest.raises(MrnaProbeError) as error:
        probe_seed(dataset, X, split, {"y": {"task": "regression"}}, seed=1)
    assert_one_line(error, "target 'y': the test fold of seed 1 has 0 rows with a measurement")


def test_bad_input_regression_target_constant_in_a_fold(problem):
    dataset, X, split = problem
    dataset.loc[(split["fold"] == "test").to_numpy(), "y"] = 3.0
    with pytest.raises(MrnaProbeError) as error:
        probe_seed(dataset, X, split, {"y": {"task": "regression"}}, seed=1)
    assert_one_line(error, "target 'y': every test value of seed 1 is 3")


@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_bad_input_non_finite_embedding(problem, value):
    dataset, X, _ = problem
    X[3, 2] = value
    with pytest.raises(MrnaProbeError) as error:
        check_embeddings(X, dataset, "emb.npy")
    assert_one_line(error, "emb.npy: row 4 holds a non-finite value")


def test_bad_input_string_embedding(tmp_path, problem):
    dataset, _, _ = problem
    np.save(tmp_path / "emb.npy", np.full((len(dataset), 2), "x"))
    with pytest.raises(MrnaProbeError) as error:
        load_embeddings(tmp_path / "emb.npy", dataset)
    assert_one_line(error, "emb.npy: embedding dtype <U1 is not numeric")


def test_bad_input_truncated_embedding(tmp_path, problem):
    dataset, X, _ = problem
    np.save(tmp_path / "emb.npy", X)
    data = (tmp_path / "emb.npy").read_bytes()
    (tmp_path / "emb.npy").write_bytes(data[:-100])
    with pytest.raises(MrnaProbeError) as error:
        load_embeddings(tmp_path / "emb.npy", dataset)
    assert_one_line(error, "emb.npy: cannot load as a numeric .npy array (Failed to read all")


# ---- unit level: config ------------------------------------------------------------------------


def config_with(**changes) -> dict:
    config = {"mirror": str(MIRROR), "seeds": [1],
              "datasets": {"toy": {"source": {"path": "leppek2022_persist_constructs.tsv"},
                                   "format": "tsv", "targets": {"y": {"task": "regression"}}}},
              "models": {"m": {"kind": "kmer"}}}  # fmt: skip
    for key, value in changes.items():
        *parents, last = key.split("__")
        node = config
        for parent in parents:
            node = node[parent]
        node[last] = value
    return config


def config_error_of(config) -> pytest.ExceptionInfo:
    with pytest.raises(MrnaProbeError) as error:
        check_config(config, SCHEMA)
    return error


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"datasets__toy__colums": {}},
         "config key datasets.toy: Additional properties are not allowed ('colums' was"),
        ({"seeds": "2541"}, "config key seeds: '2541' is not of type 'array'"),
        ({"models__m__kind": "transformer"},
         "config key models.m.kind: 'transformer' is not one of"),
        ({"models__m__trust_remote_code": "yes"},
         "config key models.m.trust_remote_code: 'yes' is not of type 'boolean'"),
        ({"split_fractions": [0.7, 0.3, 0.3]},
         "config key split_fractions: [0.7, 0.3, 0.3] sum to 1.3, not 1"),
    ],
    ids=["unknown-nested-key", "wrong-type", "unknown-model-kind", "trust-remote-code-not-bool",
         "fractions-not-summing-to-1"],
)  # fmt: skip
def test_bad_input_config(changes, message):
    assert_one_line(config_error_of(config_with(**changes)), message)


@pytest.mark.parametrize("section", ["datasets", "models"])
def test_bad_input_config_name_escaping_results(section):
    config = config_with()
    config[section]["../x"] = config[section].pop(next(iter(config[section])))
    error = config_error_of(config)
    assert_one_line(error, f"config key {section}: '../x' does not match")


class Loading(Exception):
    """Stops an adapter at its first from_pretrained call, holding that call's arguments."""


@pytest.mark.parametrize(
    "kind",
    [
        "encoder",
        "causal-lm",
        "ssm",
        "orthrus",
    ],
)  # fmt: skip
def test_hub_models_run_no_remote_code_unless_the_entry_says_so(kind, monkeypatch):
    import transformers

    from mrnaprobe.models import complete_spec, load_adapter

    def from_pretrained(source, **kwargs):
        raise Loading(kwargs)

    for auto in ("AutoTokenizer", "AutoModel", "AutoModelForMaskedLM", "AutoModelForCausalLM"):
        monkeypatch.setattr(getattr(transformers, auto), "from_pretrained", from_pretrained)
    spec = complete_spec("m", {"kind": kind, "source": "org/model"})
    with pytest.raises(Loading) as loading:
        load_adapter(spec, spec["source"])
    assert loading.value.args[0]["trust_remote_code"] is False
