"""mRNABench's parquet schema: multilabel targets as one column of 0/1 arrays.

The fixtures rewrite real mirror tables in the layout of mrna-bench's processed files
(`sequence`, `gene`, `cds`, `splice`, target columns; a multilabel target is ONE column whose
cells are arrays) and read them through `build_dataset` and the workflow's data stage.
"""

import copy
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from mrnaprobe import MrnaProbeError
from mrnaprobe.config import check_config
from mrnaprobe.data import build_dataset, target_frame
from tests.conftest import ROOT

LABELS = ["Nucleus", "Exosome", "Cytosol", "Cytoplasm", "Ribosome", "Membrane", "ER"]
SCHEMA = ROOT / "workflow" / "schemas" / "config.schema.yaml"
PAPER = ROOT / "config" / "paper.yaml"
# mrna-bench 1.3.2's catalog, recorded by scripts/mrnabench/record_catalog.py
CATALOG = json.loads((ROOT / "tests/fixtures/mrnabench/dataset_info.json").read_text())
MB_TASKS = {"classification": "binary", "reg_ridge": "regression", "multilabel": "multilabel"}
MB_SPLITS = {"homology": "homologene", "default": "random"}  # mRNABench name -> ours


def tracks(sequence: str) -> tuple[np.ndarray, np.ndarray]:
    """Placeholder cds and splice tracks (mRNABench stores one int8 per nucleotide)."""
    return np.zeros(len(sequence), dtype=np.int8), np.zeros(len(sequence), dtype=np.int8)


@pytest.fixture(scope="module")
def dm3loc(mirror) -> pd.DataFrame:
    return pd.read_csv(mirror / "dm3loc_subset_seed0_len_le3000.csv")


@pytest.fixture(scope="module")
def mrnabench_files(mirror, dm3loc, tmp_path_factory):
    """The dm3loc subset and the Leppek constructs as mrna-bench parquet files."""
    folder = tmp_path_factory.mktemp("mrnabench")
    cds, splice = zip(*(tracks(s) for s in dm3loc["sequence"]), strict=True)
    loc = pd.DataFrame(
        {
            "sequence": dm3loc["sequence"],
            "gene": dm3loc["gene_name"],
            "cds": list(cds),
            "splice": list(splice),
            "localization": list(dm3loc[LABELS].to_numpy(dtype=np.int8)),
        }
    )
    loc.to_parquet(folder / "loc-mrnabench.parquet", index=False)
    leppek = pd.read_csv(mirror / "leppek2022_persist_constructs.tsv", sep="\t")
    reg = pd.DataFrame(
        {
            "sequence": leppek["RNA.sequence"],
            "target_ribosome_load": leppek["ribosome_load"],
            "target_in_cell_half_life": leppek["half_life_in_cell"],
        }
    )
    reg.to_parquet(folder / "mrl-hl-mrnabench.parquet", index=False)
    return folder


def loc_entry(**target) -> dict:
    return {
        "source": {"path": "loc-mrnabench.parquet"},
        "format": "parquet",
        "columns": {"sequence": "sequence", "gene": "gene"},
        "targets": {"localization": {"task": "multilabel", **target}},
    }


def reg_entry() -> dict:
    return {
        "source": {"path": "mrl-hl-mrnabench.parquet"},
        "format": "parquet",
        "columns": {"sequence": "sequence"},
        "targets": {
            "ribosome_load": {"task": "regression", "column": "target_ribosome_load"},
            "half_life_in_cell": {"task": "regression", "column": "target_in_cell_half_life"},
        },
    }


def test_label_arrays_are_expanded_into_named_label_columns(mrnabench_files, dm3loc):
    path = mrnabench_files / "loc-mrnabench.parquet"
    table = build_dataset("loc", loc_entry(labels=LABELS), path)
    assert list(table.columns) == ["id", "sequence", "gene"] + [f"localization:{x}" for x in LABELS]
    assert np.array_equal(table[[f"localization:{x}" for x in LABELS]], dm3loc[LABELS])
    present, Y = target_frame(table, "localization", {"task": "multilabel", "labels": LABELS})
    assert Y.shape == (901, 7) and len(present) == 901


def test_label_arrays_match_the_same_labels_read_from_columns(mirror, mrnabench_files):
    arrays = build_dataset("loc", loc_entry(), mrnabench_files / "loc-mrnabench.parquet")
    columns = build_dataset(
        "loc",
        {
            "source": {"path": "dm3loc_subset_seed0_len_le3000.csv"},
            "format": "csv",
            "columns": {"sequence": "sequence", "gene": "gene_name"},
            "targets": {"localization": {"task": "multilabel", "columns": LABELS}},
        },
        mirror / "dm3loc_subset_seed0_len_le3000.csv",
    )
    _, from_arrays = target_frame(arrays, "localization", {"task": "multilabel"})
    _, from_columns = target_frame(
        columns, "localization", {"task": "multilabel", "columns": LABELS}
    )
    assert np.array_equal(from_arrays, from_columns)
    assert list(arrays.columns[-7:]) == [f"localization:{i}" for i in range(7)]


def test_label_count_is_checked_against_the_catalog(mrnabench_files):
    with pytest.raises(MrnaProbeError, match="holds 7 labels per row.*expects 6"):
        build_dataset("loc", loc_entry(labels=6), mrnabench_files / "loc-mrnabench.parquet")


def test_ragged_missing_and_non_binary_label_arrays(tmp_path):
    def build(cells, **target):
        path = tmp_path / "bad.parquet"
        frame = pd.DataFrame({"sequence": ["ACGT", "GGCA", "TTAC"], "target": cells})
        frame.to_parquet(path)
        entry = {
            "source": {"path": "bad.parquet"},
            "format": "parquet",
            "targets": {"go": {"task": "multilabel", "column": "target", **target}},
        }
        return build_dataset("bad", entry, path)

    with pytest.raises(
        MrnaProbeError, match="row 3: multilabel column 'target' has 2 labels, row 1 has 3"
    ):
        build([[0, 1, 0], [1, 0, 1], [1, 0]])
    with pytest.raises(MrnaProbeError, match="value 2 is not 0 or 1"):
        build([[0, 1, 0], [1, 0, 2], [1, 0, 0]])
    table = build([[0, 1, 0], None, [1, 0, 1]])  # a missing cell: every label missing
    present, Y = target_frame(table, "go", {"task": "multilabel", "column": "target"})
    assert list(present) == [0, 2] and Y.shape == (2, 3)


def test_regression_targets_read_from_mrnabench_columns(mrnabench_files):
    table = build_dataset("mrl-hl", reg_entry(), mrnabench_files / "mrl-hl-mrnabench.parquet")
    assert len(table) == 233 and table["target_in_cell_half_life"].isna().sum() == 30
    assert table["id"].str.startswith("mrl-hl:").all()
    assert not table["sequence"].str.contains("U").any()


def test_schema_accepts_label_arrays_and_rejects_mixed_forms(mrnabench_files):
    def config(target):
        return {
            "mirror": str(mrnabench_files),
            "datasets": {"loc": loc_entry(**target)},
            "models": {"kmer-naive": {"kind": "kmer"}},
        }

    check_config(config({"column": "localization", "labels": LABELS}), SCHEMA)
    check_config(config({"labels": 7}), SCHEMA)
    with pytest.raises(MrnaProbeError, match="datasets.loc.targets.localization"):
        check_config(config({"column": "localization", "columns": LABELS}), SCHEMA)
    bad = config({})
    bad["datasets"]["loc"]["targets"]["localization"] = {"task": "regression", "labels": 7}
    with pytest.raises(MrnaProbeError, match="datasets.loc.targets.localization"):
        check_config(bad, SCHEMA)


def paper_config() -> dict:
    config = yaml.safe_load(PAPER.read_text())
    config["mirror"] = None  # every paper source is a url: nothing needs to exist here
    return config


def catalog_differences(datasets: dict, catalog: dict) -> list[str]:
    """Each way paper.yaml's datasets differ from mRNABench's recorded catalog, in words."""
    found = [f"{name}: in mRNABench's catalog, not in paper.yaml"
             for name in catalog.keys() - datasets.keys()]  # fmt: skip
    found += [f"{name}: in paper.yaml, not in mRNABench's catalog"
              for name in datasets.keys() - catalog.keys()]  # fmt: skip
    for name in sorted(catalog.keys() & datasets.keys()):
        entry, info = datasets[name], catalog[name]
        ours = {spec.get("column", target): spec["task"]
                for target, spec in entry["targets"].items()}  # fmt: skip
        theirs = {column: MB_TASKS[task] for column, task in info["targets"].items()}
        found += [f"{name}: target {c!r} missing" for c in theirs.keys() - ours.keys()]
        found += [f"{name}: target {c!r} not in mRNABench" for c in ours.keys() - theirs.keys()]
        found += [f"{name}: target {c!r} is {ours[c]}, mRNABench: {theirs[c]}"
                  for c in theirs.keys() & ours.keys() if ours[c] != theirs[c]]  # fmt: skip
        canonical, splits = MB_SPLITS[info["split_type"]], entry.get("splits", [])
        if splits[:1] != [canonical]:
            found.append(f"{name}: splits {splits} do not start with {canonical!r}")
        if (species := entry.get("species", "human")) != info["species"]:  # schema default
            found.append(f"{name}: species {species!r}, mRNABench: {info['species']!r}")
        if (url := info["hf_url"]) and entry["source"].get("url") != url:
            found.append(f"{name}: url {entry['source'].get('url')!r}, mRNABench: {url!r}")
    return sorted(found)


def test_paper_config_matches_the_mrnabench_catalog():
    config = paper_config()
    check_config(config, SCHEMA)
    assert (CATALOG["n_datasets"], CATALOG["n_tasks"]) == (23, 83)
    assert catalog_differences(config["datasets"], CATALOG["datasets"]) == []
    for species in ("human", "mouse"):
        maps = config["gene_group_maps"][species]
        assert maps["source"]["url"] == CATALOG["homology_map_url"]
        assert maps["member"] == f"{species}_homology_map.csv"
    for name, entry in config["datasets"].items():
        columns, splits = entry["columns"], set(entry["splits"])
        assert ("gene" in splits) == ("gene" in columns), name
        assert ("chromosome" in splits) == ("chromosome" in columns), name
        assert "homologene" not in splits or "gene" in columns, name
        assert entry["source"]["url"].startswith("https://huggingface.co/datasets/morrislab/")


def test_catalog_comparison_names_each_difference():
    datasets = copy.deepcopy(paper_config()["datasets"])
    del datasets["go-cc"]
    del datasets["eclip-binding-k562"]["targets"]["PUM2"]
    datasets["rnahl-human"]["targets"]["target"]["task"] = "binary"
    datasets["mrl-sugimoto"]["splits"] = ["random", "homologene"]
    datasets["rnahl-mouse"]["species"] = "human"
    datasets["extra"] = datasets["go-bp"]
    assert catalog_differences(datasets, CATALOG["datasets"]) == [
        "eclip-binding-k562: target 'target_PUM2' missing",
        "extra: in paper.yaml, not in mRNABench's catalog",
        "go-cc: in mRNABench's catalog, not in paper.yaml",
        "mrl-sugimoto: splits ['random', 'homologene'] do not start with 'homologene'",
        "rnahl-human: target 'target' is binary, mRNABench: regression",
        "rnahl-mouse: species 'human', mRNABench: 'mouse'",
    ]


def planned_probes(configfile) -> tuple[dict, list[str]]:
    """The workflow's datasets and probe targets for a config, by its own planning helpers."""
    from snakemake.api import SnakemakeApi
    from snakemake.settings.types import (
        ConfigSettings,
        OutputSettings,
        Quietness,
        ResourceSettings,
    )

    with SnakemakeApi(OutputSettings(quiet={Quietness.ALL})) as api:
        workflow_api = api.workflow(
            resource_settings=ResourceSettings(),
            config_settings=ConfigSettings(configfiles=[configfile]),
            snakefile=ROOT / "Snakefile",
            workdir=ROOT,
        )
        workflow = workflow_api._get_workflow(check_envvars=False)
        workflow.include(workflow_api.snakefile, overwrite_default_target=True)
        return workflow.globals["DATASETS"], workflow.globals["probe_outputs"]()


def test_paper_workflow_plans_23_datasets_and_83_tasks():
    datasets, outputs = planned_probes(PAPER)
    cells = {tuple(Path(out).parts[2:5]) for out in outputs}  # dataset, model, split
    planned = {dataset for dataset, _, _ in cells}
    assert len(planned) == 23 and planned == set(CATALOG["datasets"])
    assert sum(len(datasets[d]["targets"]) for d in planned) == 83
    config = paper_config()
    seeds, models = len(config["seeds"]), len(config["models"])
    assert len(outputs) == seeds * models * sum(len(e["splits"]) for e in datasets.values())
    experiments = sum(len(datasets[Path(out).parts[2]]["targets"]) for out in outputs)
    splits_per_task = sum(len(e["targets"]) * len(e["splits"]) for e in datasets.values())
    assert experiments == splits_per_task * models * seeds


# mRNABench's Sample et al. constructs: the MPRA's 25-nt 5' primer, the UTR, the reporter CDS
# (here its first codons and a stop: it holds an ATG and ends in neither Kozak context).
PRIMER = "GGGACATCGTAGAGAGTCGTACTTA"
REPORTER = "ATGGTGAGCAAGGGCGAGGAGCTGTTCACCGGGTAA"
UTR_SLICE = {"start": len(PRIMER), "end": -len(REPORTER)}


def kozak_quality(utr: str) -> str:
    """mRNABench's Kozak classes of a UTR's last 3 nt, base by base (not a regex)."""
    strong = all(b in ok for b, ok in zip(utr[-3:], ("AG", "CA", "CGA"), strict=True))
    weak = all(b in ok for b, ok in zip(utr[-3:], ("T", "G", "TC"), strict=True))
    return "mixed" if strong == weak else "strong" if strong else "weak"


@pytest.fixture(scope="module")
def egfp_layout(mirror, tmp_path_factory) -> Path:
    """The real Sample et al. UTRs as an mrl-sample-egfp parquet (sequence, u_start, Kozak)."""
    sample = pd.read_csv(mirror / "sample2019_human_test_mlcis.csv")
    table = pd.DataFrame(
        {
            "sequence": PRIMER + sample["utr"] + REPORTER,
            "u_start": [int("ATG" in utr) for utr in sample["utr"]],
            "kozak_quality": [kozak_quality(utr) for utr in sample["utr"]],
            "utr": sample["utr"].str.lower().str.replace("t", "u"),  # raw RNA spelling
            "target_mrl_egfp_unmod": sample["rl"],
        }
    )
    path = tmp_path_factory.mktemp("egfp") / "mrl-sample-egfp.parquet"
    table.to_parquet(path, index=False)
    return path


def egfp_entry(**changes) -> dict:
    entry = {**paper_config()["datasets"]["mrl-sample-egfp"], **changes}
    entry["columns"] = {"sequence": "sequence"}  # the fixture has no cds/splice tracks
    entry["targets"] = {"target_mrl_egfp_unmod": {"task": "regression"}}
    return entry


def test_regexes_restricted_to_the_utr_of_mrnabench_constructs(egfp_layout, default_config):
    from mrnaprobe.splits import compositional_groups

    constructs = pd.read_parquet(egfp_layout).assign(id=lambda t: t.index.astype(str))
    regexes = default_config["datasets"]["mrl-sample-human"]["compositional"]  # on bare UTRs
    whole = compositional_groups(constructs, regexes)
    assert (whole["no_uatg"] != 1).all() and whole["strong_kozak"].isna().all()
    by_slice = {n: {**e, "region": UTR_SLICE} for n, e in regexes.items()}
    by_column = {n: {**e, "region": "utr"} for n, e in regexes.items()}
    groups = compositional_groups(constructs, by_slice)["group"]
    assert groups.value_counts()[["A+B+", "A-B+"]].tolist() == [2067, 438]
    pd.testing.assert_series_equal(compositional_groups(constructs, by_column)["group"], groups)
    columns = egfp_entry()["compositional"]  # paper.yaml: mRNABench's u_start, kozak_quality
    pd.testing.assert_series_equal(compositional_groups(constructs, columns)["group"], groups)


def test_paper_compositional_split_on_mrnabench_columns(egfp_layout):
    from mrnaprobe.splits import compositional_summary, make_split

    entry = egfp_entry(source={"path": egfp_layout.name})
    dataset = build_dataset("egfp", entry, egfp_layout)
    assert list(dataset.columns) == ["id", "sequence", "target_mrl_egfp_unmod", "u_start",
                                     "kozak_quality"]  # fmt: skip
    options = {"fractions": (0.7, 0.15, 0.15), "elements": entry["compositional"]}
    split = make_split("compositional", dataset, None, [2541, 413], options)
    rows = split.merge(dataset, on="id")
    test = rows[rows["fold"] == "test"]
    assert (test["u_start"] == 0).all() and (test["kozak_quality"] == "strong").all()
    seen = rows[(rows["fold"] != "test") & (rows["seed"] == 2541)]
    assert len(seen) + len(test) / 2 == (dataset["kozak_quality"] != "mixed").sum()
    control = make_split("compositional_random", dataset, None, [2541], options)
    assert (control["fold"] == "test").sum() == len(test) / 2 == 2067
    groups = compositional_summary(dataset, entry["compositional"], entry["targets"])
    means = {g: v["mean_target_mrl_egfp_unmod"] for g, v in groups.items() if g != "excluded"}
    assert max(means, key=means.get) == "A+B+" and min(means, key=means.get) == "A-B-"


def test_element_columns_and_regions_are_checked(egfp_layout):
    from mrnaprobe.splits import compositional_groups

    dataset = pd.read_parquet(egfp_layout)
    uatg = {"positive": "^(?!.*ATG)", "negative": "ATG"}
    with pytest.raises(MrnaProbeError, match=r"compositional.cap.column: 'cap' is not in"):
        compositional_groups(dataset, {"a": uatg, "cap": {"column": "cap", "positive": 1,
                                                           "negative": 0}})  # fmt: skip
    with pytest.raises(MrnaProbeError, match=r"compositional.b.region: column 'utr5'"):
        compositional_groups(dataset, {"a": uatg, "b": {**uatg, "region": "utr5"}})
    with pytest.raises(MrnaProbeError, match=r"compositional.b.positive: \['yes'\] are not"):
        compositional_groups(dataset, {"a": uatg, "b": {"column": "u_start", "positive": "yes",
                                                         "negative": 0}})  # fmt: skip
    config = {"datasets": {"egfp": egfp_entry()}, "models": {"kmer-naive": {"kind": "kmer"}}}
    elements = config["datasets"]["egfp"]["compositional"]
    check_config(copy.deepcopy(config), SCHEMA)
    elements["no_uatg"] = {**uatg, "region": UTR_SLICE}
    check_config(copy.deepcopy(config), SCHEMA)
    elements["no_uatg"] = {**uatg, "column": "u_start", "region": "utr"}  # one form or the other
    with pytest.raises(MrnaProbeError, match="datasets.egfp.compositional.no_uatg"):
        check_config(config, SCHEMA)


@pytest.mark.slow
def test_data_stage_reads_the_mrnabench_schema(mrnabench_files, egfp_layout, tmp_path):
    egfp = egfp_entry(source={"path": str(egfp_layout)})  # its element columns carried along
    config = {
        "mirror": str(mrnabench_files),
        "seeds": [1],
        "datasets": {"loc-mb": loc_entry(labels=LABELS), "mrl-hl-mb": reg_entry(), "egfp": egfp},
        "models": {"kmer-naive": {"kind": "kmer", "k": [3, 4]}},
    }
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    outputs = [f"results/data/{name}.parquet" for name in ("loc-mb", "mrl-hl-mb", "egfp")]
    done = subprocess.run(
        [sys.executable, "-m", "snakemake", "--snakefile", str(ROOT / "Snakefile"),
         "--directory", str(tmp_path), "--configfile", str(tmp_path / "config.yaml"),
         "--cores", "1", *outputs],
        cwd=tmp_path, capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    loc = pd.read_parquet(tmp_path / outputs[0])
    assert loc.shape == (901, 3 + 7) and loc["localization:ER"].isin([0, 1]).all()
    assert len(pd.read_parquet(tmp_path / outputs[1])) == 233
    log = (tmp_path / "results/logs/data/loc-mb.log").read_text()
    assert "expanded into 7 labels" in log
    egfp = pd.read_parquet(tmp_path / outputs[2])
    assert {"u_start", "kozak_quality"} <= set(egfp.columns) and len(egfp) == 5000


def test_global_local_and_dna_rna_figures_from_catalog_tags(tmp_path):
    from mrnaprobe.report import annotate, group_means, grouped_bars, model_info

    datasets = paper_config()["datasets"]
    families = {
        "kmer-naive": "baseline",
        "rna-fm": "rna-fm",
        "orthrus": "orthrus",
        "nt": "nucleotide-transformer",
    }
    info = model_info({name: {"family": family} for name, family in families.items()}, [])
    rng = np.random.default_rng(0)
    rows = pd.DataFrame(
        [
            (dataset, "target", model, rng.uniform())
            for dataset in ("rnahl-human", "eclip-binding-k562", "go-bp", "mirna-target")
            for model in families
        ],  # fmt: skip
        columns=["dataset", "target", "model", "mean"],
    )
    rows = annotate(rows, info, datasets)
    d = group_means(rows, ["resolution", "objective"], 1)
    assert set(d["resolution"]) == {"transcript", "nucleotide"}
    assert set(d["objective"]) == {"baseline", "masked-LM", "contrastive"}
    f = group_means(rows, ["task_family", "molecule"], 1)
    assert set(f["task_family"]) == {"half-life", "binding", "function"}
    assert set(f["molecule"]) == {"none", "DNA", "RNA"}
    grouped_bars(d, "resolution", "objective", tmp_path / "global_local.png", "global/local")
    grouped_bars(f, "task_family", "molecule", tmp_path / "dna_rna.png", "DNA/RNA")
    for stem in ("global_local", "dna_rna"):
        assert (tmp_path / f"{stem}.png").stat().st_size > 0
        assert (tmp_path / f"{stem}.pdf").read_bytes().startswith(b"%PDF")
