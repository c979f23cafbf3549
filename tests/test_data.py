"""Data stage on the real mirror files, and its one-line errors on bad input."""

import gzip
import hashlib
import re

import numpy as np
import pandas as pd
import pytest

from mrnaprobe import MrnaProbeError
from mrnaprobe.data import (
    build_dataset,
    config_sources,
    read_fasta,
    resolve_source,
    source_sha256,
    target_frame,
    verify_source,
)


def build(name, config, mirror, **override):
    """The full real dataset (the default config's `subsample` left out unless overridden)."""
    entry = {**config["datasets"][name], "subsample": None, **override}
    join = entry.get("join")
    join_path = resolve_source(join["source"], str(mirror), "cache") if join else None
    return build_dataset(
        name, entry, resolve_source(entry["source"], str(mirror), "cache"), join_path
    )


def test_catalog_checksums_match_the_mirror(default_config, mirror):
    """Every default source has a url and a sha256, matched by its mirror copy (gzip or not)."""
    for key, source in config_sources(default_config):
        assert source.get("url", "").startswith("https://") and "sha256" in source, key
        assert (
            source_sha256(resolve_source(source, str(mirror), "cache"), source) == source["sha256"]
        ), key


def test_dm3loc_rows_come_from_the_public_parent_as_the_shipped_subset(
    default_config, mirror, caplog
):
    """Length filter, seeded sample and accession order rebuild the mirror's 901-row subset."""
    caplog.set_level("INFO")
    entry = default_config["datasets"]["loc-dm3loc"]
    table = build("loc-dm3loc", default_config, mirror, subsample=entry["subsample"])
    assert "kept 8747 of 17306 rows, 8559 dropped (8559 longer than 3000 nt)" in caplog.text
    assert "kept 901 of 8747 rows (python sampler, seed 0)" in caplog.text
    subset = pd.read_csv(mirror / "dm3loc_subset_seed0_len_le3000.csv")
    labels = ["Nucleus", "Exosome", "Cytosol", "Cytoplasm", "Ribosome", "Membrane", "ER"]
    assert table["id"].tolist() == subset["accession"].tolist()
    assert table["sequence"].tolist() == subset["sequence"].tolist()
    assert table["gene"].tolist() == subset["gene_name"].tolist()
    assert np.array_equal(table[labels].to_numpy(), subset[labels].to_numpy())


def test_length_filter_sampler_and_sort(tmp_path, caplog):
    caplog.set_level("INFO")
    seqs = ["A" * n for n in (5, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120)]
    path = write_csv(
        tmp_path / "t.csv",
        {"id": range(13), "sequence": seqs, "y": range(13), "rank": range(13, 0, -1)},
    )
    entry = {"format": "csv", "columns": {"id": "id"}, "targets": {"y": {"task": "regression"}},
             "filter": {"min_length": 10, "max_length": 100}}  # fmt: skip
    table = build_dataset("t", entry, path)
    assert table["sequence"].str.len().between(10, 100).all() and len(table) == 10
    assert "kept 10 of 13 rows, 3 dropped (1 shorter than 10 nt, 2 longer than 100 nt)" in (
        caplog.text
    )
    samples = {}
    for sampler in ("numpy", "python"):
        sample = {"rows": 4, "seed": 7, "sampler": sampler}
        samples[sampler] = build_dataset("t", {**entry, "subsample": sample}, path)
        assert samples[sampler].equals(build_dataset("t", {**entry, "subsample": sample}, path))
        assert len(samples[sampler]) == 4 and samples[sampler]["y"].is_monotonic_increasing
    assert not samples["numpy"].equals(samples["python"])
    reordered = build_dataset("t", {**entry, "sort_by": "rank"}, path)
    assert reordered["y"].tolist() == table["y"].tolist()[::-1]


def test_leppek_rna_alphabet_becomes_dna_and_missing_targets_stay_missing(default_config, mirror):
    table = build("mrl-hl-leppek", default_config, mirror)
    assert len(table) == 233 and table["id"].is_unique
    assert not table["sequence"].str.contains("U").any()
    assert table["sequence"].str.fullmatch("[ACGTN]+").all()
    assert table["half_life_in_cell"].isna().sum() == 30
    present, y = target_frame(table, "half_life_in_cell", {"task": "regression"})
    assert len(present) == 203 and not np.isnan(y).any()


def test_clinvar_calls_are_mapped_and_others_excluded(default_config, mirror, caplog):
    caplog.set_level("INFO")
    table = build("vep-clinvar-utr5", default_config, mirror)
    assert len(table) == 1525
    assert table["clin_sig"].sum() == 130  # pathogenic: 87 + 35 + 8
    assert "1477 rows excluded" in caplog.text and "Uncertain significance=1285" in caplog.text


def test_fasta_labels_come_from_headers(default_config, mirror):
    table = build("rbp-elavl1", default_config, mirror)
    assert len(table) == 10000
    assert table["bound"].value_counts().to_dict() == {0.0: 8000, 1.0: 2000}
    assert table["chromosome"].str.startswith("chr").all()
    assert (table["sequence"].str.count("N") == table["sequence"].str.len()).sum() == 8


def test_subsample_is_seeded_and_logged(default_config, mirror, caplog):
    caplog.set_level("INFO")
    first = build("rbp-elavl1", default_config, mirror, subsample={"rows": 500, "seed": 3})
    again = build("rbp-elavl1", default_config, mirror, subsample={"rows": 500, "seed": 3})
    assert len(first) == 500 and first.equals(again)
    assert "kept 500 of 10000 rows (numpy sampler, seed 3), 9500 dropped" in caplog.text


def test_half_life_is_joined_by_gene_name(default_config, mirror, caplog):
    caplog.set_level("INFO")
    table = build("hl-saluki", default_config, mirror,
                  subsample=default_config["datasets"]["hl-saluki"]["subsample"])  # fmt: skip
    saluki = pd.read_csv(mirror / "saluki_all_HLs_human_PC1.txt", sep="\t")
    expected = saluki.set_index("external_gene_name")["human_PC1"]
    assert len(table) == 626 and "275 dropped" in caplog.text
    assert np.allclose(table["human_PC1"], table["gene"].map(expected))


def test_multilabel_target_has_all_columns(default_config, mirror):
    table = build("loc-dm3loc", default_config, mirror,
                  subsample=default_config["datasets"]["loc-dm3loc"]["subsample"])  # fmt: skip
    spec = default_config["datasets"]["loc-dm3loc"]["targets"]["localization"]
    present, Y = target_frame(table, "localization", spec)
    assert Y.shape == (901, 7) and set(np.unique(Y)) == {0.0, 1.0}


def write_csv(path, rows):
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


ENTRY = {
    "format": "csv",
    "columns": {"id": "name", "sequence": "seq"},
    "targets": {"y": {"task": "regression"}},
}


@pytest.mark.bad_input
@pytest.mark.parametrize(
    ("rows", "message"),
    [
        (
            {"name": ["a", "b"], "seq": ["ACGT", "ACXT"], "y": [1, 2]},
            "row 2 (id b): characters 'X'",
        ),
        ({"name": ["a", "b"], "seq": ["ACGT", ""], "y": [1, 2]}, "row 2 (id b): empty sequence"),
        ({"name": ["a", "a"], "seq": ["ACGT", "ACGG"], "y": [1, 2]}, "row 2: duplicate id 'a'"),
        ({"name": ["a", "b"], "seq": ["ACGT", "ACGG"], "z": [1, 2]}, "column 'y' not found"),
        (
            {"name": ["a", "b"], "seq": ["ACGT", "ACGG"], "y": [None, None]},
            "column 'y' has no values",
        ),
        (
            {"name": ["a", "b"], "seq": ["ACGT", "ACGG"], "y": [1, "high"]},
            "row 2: target column 'y'",
        ),
    ],
)
def test_bad_table_gives_one_line_error_naming_file_and_row(tmp_path, rows, message):
    path = write_csv(tmp_path / "table.csv", rows)
    with pytest.raises(MrnaProbeError) as error:
        build_dataset("toy", ENTRY, path)
    assert message in str(error.value) and str(path) in str(error.value)
    assert "\n" not in str(error.value)


@pytest.mark.bad_input
def test_bad_input_corrupt_gzip_fasta(tmp_path):
    path = tmp_path / "broken.fa.gz"
    path.write_bytes(gzip.compress(b">a class:1\nACGT\n")[:-12])
    entry = {
        "format": "fasta",
        "header_fields": {"y": "class:(?P<value>[01])"},
        "targets": {"y": {"task": "binary"}},
    }
    with pytest.raises(MrnaProbeError, match="broken.fa.gz: cannot read FASTA"):
        build_dataset("toy", entry, path)


@pytest.mark.bad_input
def test_bad_input_missing_mirror_file_without_url(tmp_path):
    with pytest.raises(MrnaProbeError, match="'absent.csv': not in the mirror"):
        resolve_source({"path": "absent.csv"}, str(tmp_path), "cache")


def test_mirror_is_checked_before_download(tmp_path):
    (tmp_path / "x.csv").write_text("a\n")
    source = {"url": "https://example.org/data/x.csv"}
    assert resolve_source(source, str(tmp_path), "cache") == str(tmp_path / "x.csv")
    assert resolve_source(source, str(tmp_path / "empty"), "cache") == "cache/x.csv"


def test_mirror_serves_a_gzip_copy_checked_on_its_decompressed_bytes(tmp_path):
    data = b"id,sequence\nr1,ACGT\n"
    (tmp_path / "x.csv.gz").write_bytes(gzip.compress(data))
    source = {"url": "https://example.org/data/x.csv", "sha256": hashlib.sha256(data).hexdigest()}
    path = resolve_source(source, str(tmp_path), "cache")
    assert path == str(tmp_path / "x.csv.gz")
    verify_source(path, source)
    (tmp_path / "x.csv").write_bytes(data)  # a plain copy wins over the gzip one
    assert resolve_source(source, str(tmp_path), "cache") == str(tmp_path / "x.csv")
    gz_source = {"path": "y.fa.gz", "sha256": hashlib.sha256(b"other").hexdigest()}
    (tmp_path / "y.fa.gz").write_bytes(b"other")  # a source that is itself gzip: raw bytes
    verify_source(resolve_source(gz_source, str(tmp_path), "cache"), gz_source)


@pytest.mark.bad_input
def test_bad_input_gzip_mirror_copy_with_other_bytes(tmp_path):
    (tmp_path / "x.csv.gz").write_bytes(gzip.compress(b"id,sequence\nr1,ACGA\n"))
    source = {"path": "x.csv", "sha256": "0" * 64}
    path = resolve_source(source, str(tmp_path), "cache")
    with pytest.raises(MrnaProbeError, match=r"x.csv.gz: decompressed sha256 [0-9a-f]{64} does"):
        verify_source(path, source)


@pytest.fixture
def per_class_fastas(mirror, tmp_path):
    """The real ELAVL1 windows shipped as one FASTA per class (labels out of the headers)."""
    frame = read_fasta(mirror / "ideeps_rbp31_10_PARCLIP_ELAVL1A_hg19_test.fa.gz")
    paths = {}
    for label in ("1", "0"):
        part = frame[frame["header"].str.endswith(f"class:{label}")]
        paths[label] = tmp_path / f"class{label}.fa"
        records = zip(part["header"].str.split(";").str[0], part["sequence"], strict=True)
        paths[label].write_text("".join(f">{h}\n{s}\n" for h, s in records))
    return frame, paths


def per_class_entry(paths, **source):
    return {
        "sources": [{"path": str(paths["1"]), "set": {"bound": 1}, **source},
                    {"path": str(paths["0"]), "set": {"bound": 0}}],
        "format": "fasta",
        "header_fields": {"chromosome": "^(?P<value>[^,]+),"},
        "columns": {"id": "header", "chromosome": "chromosome"},
        "targets": {"bound": {"task": "binary"}},
    }  # fmt: skip


def test_one_file_per_class_gives_the_labels_the_single_file_has(per_class_fastas):
    frame, paths = per_class_fastas
    entry = per_class_entry(paths)
    dataset = build_dataset("elavl1", entry, [str(paths["1"]), str(paths["0"])])
    assert len(dataset) == len(frame) and dataset["id"].is_unique
    expected = frame["header"].str.endswith("class:1").astype(float).to_numpy()
    by_id = dict(zip(frame["header"].str.split(";").str[0], expected, strict=True))
    assert (dataset["bound"].to_numpy() == dataset["id"].map(by_id).to_numpy()).all()
    assert dataset["bound"].sum() == expected.sum() and dataset["chromosome"].notna().all()
    keys = [key for key, _ in config_sources({"datasets": {"elavl1": entry}})]
    assert keys == ["datasets.elavl1.sources.0", "datasets.elavl1.sources.1"]


def test_one_file_per_class_checksummed_each(per_class_fastas):
    from mrnaprobe.data import sha256sum

    _, paths = per_class_fastas
    verify_source(paths["1"], {"path": str(paths["1"]), "sha256": sha256sum(paths["1"])})
    with pytest.raises(MrnaProbeError, match=r"class0.fa: sha256 .* does not match"):
        verify_source(paths["0"], {"path": str(paths["0"]), "sha256": "0" * 64})


@pytest.mark.bad_input
def test_bad_input_an_id_in_two_class_files_names_both(per_class_fastas):
    _, paths = per_class_fastas
    first = paths["1"].read_text().split("\n")[:2]
    with open(paths["0"], "a") as handle:
        handle.write("\n".join(first) + "\n")
    rows, first_id = paths["0"].read_text().count(">"), re.escape(first[0][1:])
    with pytest.raises(MrnaProbeError, match=rf"class0.fa: row {rows}: id '{first_id}' is "
                       rf"also in .*class1.fa \(row 1\)$"):  # fmt: skip
        build_dataset("elavl1", per_class_entry(paths), [str(paths["1"]), str(paths["0"])])


@pytest.mark.bad_input
def test_bad_input_a_bad_sequence_or_a_set_column_the_file_has(per_class_fastas):
    _, paths = per_class_fastas
    with open(paths["0"], "a") as handle:
        handle.write(">chrX,+,1,9\nACGTXACGT\n")
    rows = paths["0"].read_text().count(">")
    with pytest.raises(MrnaProbeError, match=rf"class0.fa: row {rows} \(id chrX,\+,1,9\): "):
        build_dataset("elavl1", per_class_entry(paths), [str(paths["1"]), str(paths["0"])])
    entry = per_class_entry(paths)
    entry["sources"][0]["set"] = {"chromosome": "chr1"}
    with pytest.raises(MrnaProbeError, match="class1.fa: column 'chromosome' is in the file and"):
        build_dataset("elavl1", entry, [str(paths["1"]), str(paths["0"])])
