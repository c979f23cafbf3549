"""Sequence tracks (CDS, splice sites): validated and stored by the data stage, cut into
regions as mRNABench's wrappers do, read by the 6-track models, and checked at planning time.

The real data: the Leppek et al. 2022 designed mRNAs (shared mirror), whose table gives each
construct's coding sequence (`CDS.sequence.longest`, found once in every `RNA.sequence`).
Their CDS track marks each codon start, as mRNABench's `create_cds_track`. Their splice
track is all zeros: designed single-exon mRNAs have no splice junction, and mRNABench itself
writes all-zero splice tracks for its designed-mRNA MPRA data (`mrl_sample.py`).
"""

import json

import numpy as np
import pandas as pd
import pytest

from mrnaprobe import MrnaProbeError
from mrnaprobe.data import build_dataset
from mrnaprobe.tracks import check_model_tracks, cut_regions, needed_tracks, region, track_features

LEPPEK = "leppek2022_persist_constructs.tsv"
ENTRY = {
    "format": "tsv",
    "columns": {"id": "SequenceID", "sequence": "RNA.sequence", "cds": "cds", "splice": "splice"},
    "targets": {"ribosome_load": {"task": "regression"}},
}


def leppek_with_tracks(mirror) -> pd.DataFrame:
    """The Leppek constructs with `cds` and `splice` tracks as JSON text columns."""
    frame = pd.read_csv(mirror / LEPPEK, sep="\t")
    tracks = []
    for rna, cds in zip(frame["RNA.sequence"], frame["CDS.sequence.longest"], strict=True):
        sequence = rna.upper().replace("U", "T")
        assert sequence.count(cds) == 1 and len(cds) % 3 == 0
        track = np.zeros(len(sequence), dtype=int)
        start = sequence.find(cds)
        track[start : start + len(cds) : 3] = 1
        tracks.append(track)
    frame["cds"] = [json.dumps(t.tolist()) for t in tracks]
    frame["splice"] = [json.dumps([0] * len(t)) for t in tracks]
    return frame


@pytest.fixture(scope="module")
def leppek(tmp_path_factory, mirror):
    """(source table path, dataset frame) of the Leppek constructs with tracks."""
    path = tmp_path_factory.mktemp("leppek") / "leppek_tracks.tsv"
    source = leppek_with_tracks(mirror)
    source.to_csv(path, sep="\t", index=False)
    return path, source


def test_tracks_stored_in_the_dataset_parquet(leppek, tmp_path):
    path, source = leppek
    dataset = build_dataset("leppek", ENTRY, path)
    dataset.to_parquet(tmp_path / "d.parquet", index=False)
    back = pd.read_parquet(tmp_path / "d.parquet")
    assert len(back) == 233
    rows = zip(back["sequence"], back["cds"], back["splice"], source["RNA.sequence"],
               source["CDS.sequence.longest"], strict=True)  # fmt: skip
    for sequence, cds, splice, rna, coding in rows:
        assert len(cds) == len(splice) == len(sequence) == len(rna)
        assert cds.dtype == np.int8 and not splice.any()
        assert region(sequence, cds, "cds")[0] == coding  # the track cuts out the real CDS


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda t: t[:-1], "track column 'cds' has 1097 values, the sequence 1098 nt"),
        (lambda t: [*t[:-1], 2], "track column 'cds' value"),
    ],
)
def test_bad_track_is_one_line_naming_file_and_row(leppek, tmp_path, change, message):
    _, source = leppek
    source = source.copy()
    source.loc[4, "cds"] = json.dumps(change(json.loads(source.loc[4, "cds"])))
    path = tmp_path / "bad.tsv"
    source.to_csv(path, sep="\t", index=False)
    with pytest.raises(MrnaProbeError) as error:
        build_dataset("leppek", ENTRY, path)
    text = str(error.value)
    assert "\n" not in text and text.startswith(f"{path}: row 5: ") and message in text, text


def test_regions_follow_mrnabench_fallbacks():
    sequence = "GGGAAATGCCCTAGTTTT"  # 5'UTR GGGAA, CDS ATG CCC TAG, 3'UTR TTTT
    cds = np.zeros(len(sequence), dtype=np.int8)
    cds[[5, 8, 11]] = 1
    assert region(sequence, cds, "cds") == ("ATGCCCTAG", "cut")
    assert region(sequence, cds, "utr5") == ("GGGAA", "cut")
    assert region(sequence, cds, "utr3") == ("TTTT", "cut")
    assert region(sequence, cds, "utr3", min_length=5) == (sequence, "3'UTR too short")
    none = np.zeros(len(sequence), dtype=np.int8)
    assert region(sequence, none, "cds") == (sequence[:18], "no CDS")
    assert region(sequence[:17], none[:17], "cds") == (sequence[:15], "no CDS")
    assert region(sequence, none, "utr5") == (sequence, "no CDS")
    late = cds.copy()
    late[[5, 8]] = 0
    late[16] = 1  # last codon runs past the end: whole codons kept
    assert region(sequence, late, "cds") == ("TAGTTT", "not codons")
    assert cut_regions([sequence, sequence], [cds, none], "utr5") == ["GGGAA", sequence]


def test_naive_sixtrack_features():
    cds = np.zeros(20, dtype=np.int8)
    cds[[4, 7, 10]] = 1
    splice = np.zeros(20, dtype=np.int8)
    splice[[9, 19]] = 1
    features = track_features([cds, np.zeros(20)], [splice, np.zeros(20)])
    assert features.tolist() == [[9, 2], [0, 0]]


def test_model_needing_a_track_on_a_dataset_without_it_is_a_config_error():
    models = {"m": {"kind": "orthrus", "tracks": ["cds", "splice"]},
              "fm": {"kind": "encoder", "input_region": "cds"}}  # fmt: skip
    assert needed_tracks(models["fm"]) == ["cds"]
    with_tracks = {"columns": {"sequence": "s", "cds": "c", "splice": "p"}}
    check_model_tracks(models, {"a": with_tracks})
    with pytest.raises(MrnaProbeError) as error:
        check_model_tracks(models, {"a": with_tracks, "b": {"columns": {"cds": "c"}}})
    assert str(error.value) == (
        "config key datasets.b.columns: model m reads the splice track (tracks) but dataset b "
        "names no `splice:` column"
    )
