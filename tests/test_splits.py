"""Split types and the leakage audit."""

import numpy as np
import pandas as pd
import pytest

from mrnaprobe import MrnaProbeError
from mrnaprobe.splits import audit, make_split

FRACTIONS = (0.7, 0.15, 0.15)
OPTIONS = {"fractions": FRACTIONS, "kmer": {"k": 3, "clusters": 12}}
SETTINGS = {"min_seq_id": 0.8, "coverage": 0.8, "cov_mode": 0}


def toy(n=200, group_size=4):
    ids = [f"s{i}" for i in range(n)]
    dataset = pd.DataFrame({"id": ids, "gene": [f"g{i // group_size}" for i in range(n)]})
    clusters = pd.DataFrame(
        {"id": ids, "cluster": [f"s{(i // group_size) * group_size}" for i in range(n)]}
    )
    return dataset, clusters


def test_random_split_is_70_15_15_deterministic_and_seed_dependent():
    dataset, clusters = toy()
    first = make_split("random", dataset, clusters, [1, 2], OPTIONS)
    again = make_split("random", dataset, clusters, [1, 2], OPTIONS)
    pd.testing.assert_frame_equal(first, again)
    counts = first[first["seed"] == 1]["fold"].value_counts()
    assert counts.to_dict() == {"train": 140, "val": 30, "test": 30}
    one, two = (first[first["seed"] == s]["fold"].to_numpy() for s in (1, 2))
    assert (one != two).any()


@pytest.mark.parametrize("kind", ["homology", "gene"])
def test_group_splits_keep_groups_whole(kind):
    dataset, clusters = toy()
    split = make_split(kind, dataset, clusters, [2541, 413], OPTIONS)
    merged = split.merge(clusters, on="id")
    assert (merged.groupby(["seed", "cluster"])["fold"].nunique() == 1).all()
    share = split[split["seed"] == 2541]["fold"].value_counts(normalize=True)
    assert abs(share["train"] - 0.7) <= 0.03


def test_audit_counts_test_rows_with_a_train_hit():
    dataset, clusters = toy()
    hits = pd.DataFrame({"query": ["s1", "s0"], "target": ["s0", "s1"], "fident": [0.95, 0.95],
                         "qcov": [1.0, 1.0], "tcov": [1.0, 1.0]})  # fmt: skip
    split = pd.DataFrame(
        {"id": dataset["id"], "seed": 7, "fold": ["train", "test"] + ["val"] * 198}
    )
    report = audit(split, hits, SETTINGS, "mmseqs easy-search")
    assert report["seeds"]["7"]["test"] == {
        "n": 1,
        "n_with_train_hit": 1,
        "fraction": 1.0,
        "max_identity": 0.95,
    }
    homology = make_split("homology", dataset, clusters, [7], OPTIONS)
    assert audit(homology, hits, SETTINGS, "")["test_violations_max"] == 0


@pytest.mark.bad_input
def test_bad_input_dataset_too_small_for_split():
    dataset, clusters = toy(n=40, group_size=20)
    with pytest.raises(
        MrnaProbeError,
        match=r"split seed \d+: fold '\w+' is empty \(.*\); 40 rows in 2 groups kept whole, "
        "the largest 20, 20 rows$",
    ):
        make_split("homology", dataset, clusters, [1], OPTIONS)


@pytest.mark.bad_input
def test_bad_input_homologene_split_without_genes_or_map():
    dataset, clusters = toy()
    with pytest.raises(MrnaProbeError, match="split 'homologene' needs a gene-group map"):
        make_split("homologene", dataset, clusters, [1], OPTIONS)
    options = {**OPTIONS, "gene_groups": {"g1": 1}}
    with pytest.raises(MrnaProbeError, match="split 'homologene' needs a 'gene' column"):
        make_split("homologene", dataset.drop(columns="gene"), clusters, [1], options)


def test_homologene_split_keeps_gene_groups_whole_and_unmapped_genes_apart():
    dataset, clusters = toy(n=400, group_size=2)
    gene_groups = {f"g{i}": i // 5 for i in range(150)}  # 5 genes (10 rows) per group
    split = make_split("homologene", dataset, clusters, [2541, 413],
                       {**OPTIONS, "gene_groups": gene_groups})  # fmt: skip
    merged = split.merge(dataset, on="id")
    merged["group"] = merged["gene"].map(gene_groups)
    assert (merged.groupby(["seed", "group"])["fold"].nunique() == 1).all()
    unmapped = merged[merged["group"].isna()]  # genes g150-g199: rows split one by one
    assert (unmapped.groupby(["seed", "gene"])["fold"].nunique() > 1).any()


def test_split_of_a_target_with_missing_values_is_made_on_its_measured_rows():
    dataset, clusters = toy()
    dataset["full"] = 1.0
    dataset["gappy"] = np.where(np.arange(200) % 4 == 0, np.nan, 1.0)
    targets = {"full": {"task": "regression"}, "gappy": {"task": "regression"}}
    split = make_split("random", dataset, clusters, [1, 2], OPTIONS, targets)
    shared, own = split[split["target"].isna()], split[split["target"] == "gappy"]
    assert len(shared) == 400 and len(own) == 300
    assert set(own["id"]) == set(dataset["id"][dataset["gappy"].notna()])
    assert own[own["seed"] == 1]["fold"].value_counts().to_dict() == {
        "train": 105, "val": 22, "test": 23}  # fmt: skip
    assert audit(split, pd.DataFrame(columns=["query", "target", "fident"]), SETTINGS, "")[
        "seeds"]["1"]["test"]["n"] == 30  # fmt: skip


@pytest.mark.bad_input
def test_bad_input_unknown_split_type():
    dataset, clusters = toy()
    with pytest.raises(MrnaProbeError, match="unknown split type 'chromosomal'"):
        make_split("chromosomal", dataset, clusters, [1], OPTIONS)


def test_real_random_split_leaks_and_homology_split_does_not(default_config, mirror):
    from mrnaprobe.data import build_dataset
    from mrnaprobe.homology import cluster_dataset

    entry = default_config["datasets"]["vep-clinvar-utr5"]
    dataset = build_dataset("vep", entry, mirror / entry["source"]["path"])
    clusters, hits, command = cluster_dataset(dataset, default_config["homology"], threads=1)
    seeds = default_config["seeds"][:3]
    leaky = audit(make_split("random", dataset, clusters, seeds, OPTIONS), hits, SETTINGS, command)
    clean = audit(
        make_split("homology", dataset, clusters, seeds, OPTIONS), hits, SETTINGS, command
    )
    assert leaky["test_fraction_mean"] > 0.5
    assert clean["test_violations_max"] == 0
    assert np.isclose(
        sum(clean["seeds"]["2541"][f]["n"] for f in ("val", "test")), 0.3 * len(dataset), atol=40
    )


def test_chromosome_split_holds_out_whole_chromosomes():
    dataset, clusters = toy(n=300)
    dataset["chromosome"] = [f"chr{i % 30}" for i in range(300)]
    split = make_split("chromosome", dataset, clusters, [5], OPTIONS).merge(dataset, on="id")
    assert (split.groupby("chromosome")["fold"].nunique() == 1).all()
    assert set(split["fold"]) == {"train", "val", "test"}


def test_kmer_profile_split_keeps_kmeans_clusters_whole():
    rng = np.random.default_rng(0)
    motifs = ["A" * 30, "GC" * 15, "ACGT" * 8]
    sequences = [motifs[i % 3][: rng.integers(20, 30)] + "".join(rng.choice(list("ACGT"), 30))
                 for i in range(240)]  # fmt: skip
    dataset = pd.DataFrame({"id": [f"s{i}" for i in range(240)], "sequence": sequences})
    split = make_split("kmer_profile", dataset, None, [1, 2], OPTIONS)
    counts = split[split["seed"] == 1]["fold"].value_counts(normalize=True)
    assert abs(counts["train"] - 0.7) < 0.1 and counts["test"] > 0.05


def test_compositional_split_tests_only_the_unseen_combination():
    elements = {"no_uatg": {"positive": "^(?!.*ATG)", "negative": "ATG"},
                "strong_kozak": {"positive": "[AG][CA][CGA]$", "negative": "TG[TC]$"}}  # fmt: skip
    utrs = {"ab": "CCCCCGCC", "a": "CCCCCTGT", "b": "CATGCACC", "none": "CATGCTGC",
            "mixed": "CCCCCTTT"}  # fmt: skip
    rows = [(f"{kind}{i}", seq) for kind, seq in utrs.items() for i in range(40)]
    dataset = pd.DataFrame(rows, columns=["id", "sequence"])
    split = make_split("compositional", dataset, None, [1, 2], {**OPTIONS, "elements": elements})
    fold = split[split["seed"] == 1].set_index("id")["fold"]
    assert set(fold[fold == "test"].index.str.rstrip("0123456789")) == {"ab"}
    assert not fold.index.str.startswith("mixed").any()
    assert set(fold[fold != "test"].index.str.rstrip("0123456789")) == {"a", "b", "none"}
    assert abs((fold == "val").sum() / (fold != "test").sum() - 0.15 / 0.85) < 0.02


def test_compositional_groups_on_real_5utrs(default_config, mirror):
    from mrnaprobe.data import build_dataset
    from mrnaprobe.splits import compositional_summary

    entry = {**default_config["datasets"]["mrl-sample-human"], "subsample": None}
    dataset = build_dataset("mrl", entry, mirror / entry["source"]["path"])
    groups = compositional_summary(dataset, entry["compositional"], entry["targets"])
    assert groups["A+B+"]["n"] == 2067 and groups["A-B+"]["n"] == 438
    assert groups["A+B+"]["mean_rl"] > groups["A-B+"]["mean_rl"] + 1  # uATGs depress loading


def test_gene_split_by_a_user_supplied_gene_group_map(default_config, mirror, tmp_path):
    """A gene -> group table (e.g. HomoloGene) joined in; the gene split keeps groups whole."""
    from mrnaprobe.data import build_dataset, resolve_source

    entry = default_config["datasets"]["loc-dm3loc"]
    path = resolve_source(entry["source"], mirror, "cache")
    genes = build_dataset("loc", entry, path)["gene"].rename("gene_name").to_frame()
    groups = genes.assign(family=genes["gene_name"].str[:3])  # toy families by symbol prefix
    groups.to_csv(tmp_path / "families.tsv", sep="\t", index=False)
    entry = {**entry, "columns": {"id": "accession", "sequence": "sequence", "gene": "family"},
             "join": {"source": {"path": "families.tsv"}, "format": "tsv",
                      "keys": ["gene_name", "gene_name"], "columns": ["family"]}}  # fmt: skip
    dataset = build_dataset("loc", entry, path, tmp_path / "families.tsv")
    split = make_split("gene", dataset, None, [2541, 413], OPTIONS).merge(dataset, on="id")
    assert split["gene"].nunique() < 0.9 * len(dataset)
    assert (split.groupby(["seed", "gene"])["fold"].nunique() == 1).all()


@pytest.mark.bad_input
@pytest.mark.parametrize(
    "change, message",
    [
        (lambda c: c.pop("gene_group_maps"),
         "config key gene_group_maps: no map for species 'human' (dataset te-calviello's "
         "homologene split)"),
        (lambda c: c["datasets"]["vep-clinvar-utr5"]["columns"].pop("gene"),
         "config key datasets.vep-clinvar-utr5.columns.gene: the homologene split needs the "
         "gene names"),
        (lambda c: c["gene_group_maps"]["mouse"].pop("taxid"),
         "config key gene_group_maps.mouse: 'taxid' is a required property"),
    ],
)  # fmt: skip
def test_bad_input_homologene_config(change, message, mirror):
    """Planning stops in one line naming the key when a homologene split cannot be made."""
    from pathlib import Path

    import yaml

    from mrnaprobe.config import check_config

    root = Path(__file__).resolve().parents[1]
    config = yaml.safe_load((root / "config/config.yaml").read_text())
    config["mirror"] = str(mirror)
    change(config)
    with pytest.raises(MrnaProbeError) as caught:
        check_config(config, root / "workflow/schemas/config.schema.yaml")
    assert str(caught.value) == message


def test_gene_group_map_from_a_ready_map_or_a_zip_member(tmp_path, mirror):
    import zipfile

    from mrnaprobe.splits import build_gene_group_map

    shared = pd.read_csv(mirror / "homologene68_human_homology_map.csv")
    with zipfile.ZipFile(tmp_path / "maps.zip", "w") as archive:
        archive.write(mirror / "homologene68_human_homology_map.csv", "maps/human_homology_map.csv")
    for table in (
        build_gene_group_map(mirror / "homologene68_human_homology_map.csv", "map"),
        build_gene_group_map(tmp_path / "maps.zip", "map", member="human_homology_map.csv"),
    ):
        pd.testing.assert_frame_equal(table, shared[["gene_name", "gene_group"]])
    with pytest.raises(MrnaProbeError, match="maps.zip: the archive holds no 'mouse_homology"):
        build_gene_group_map(tmp_path / "maps.zip", "map", member="mouse_homology_map.csv")
    shared.rename(columns={"gene_group": "hid"}).to_csv(tmp_path / "bad.csv", index=False)
    with pytest.raises(
        MrnaProbeError, match=r"bad.csv: gene-group map lacks column\(s\) \['gene_gr"
    ):
        build_gene_group_map(tmp_path / "bad.csv", "map")


@pytest.mark.bad_input
def test_bad_input_cli_homologene_split_without_a_map_stops_the_dry_run(tmp_path, mirror):
    import subprocess
    import sys
    from pathlib import Path

    import yaml

    root = Path(__file__).resolve().parents[1]
    config = yaml.safe_load((root / "config/config.yaml").read_text())
    config.pop("gene_group_maps")
    config["mirror"] = str(mirror)
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    done = subprocess.run(
        [sys.executable, "-m", "snakemake", "-n", "--snakefile", str(root / "Snakefile"),
         "--configfile", str(tmp_path / "c.yaml")],
        cwd=tmp_path, capture_output=True, text=True,
    )  # fmt: skip
    lines = [line for line in done.stderr.splitlines() if "mrnaprobe: error:" in line]
    assert done.returncode != 0 and lines == [
        "mrnaprobe: error: config key gene_group_maps: no map for species 'human' "
        "(dataset te-calviello's homologene split)"
    ]
