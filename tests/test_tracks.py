"""Sequence tracks (CDS, splice sites): validated and stored by the data stage, cut into
regions as mRNABench's wrappers do, read by the 6-track models, and checked at planning time.

The real data: the Leppek et al. 2022 designed mRNAs (shared mirror), whose table gives each
construct's coding sequence (`CDS.sequence.longest`, found once in every `RNA.sequence`).
Their CDS track marks each codon start, as mRNABench's `create_cds_track`. Their splice
track is all zeros: designed single-exon mRNAs have no splice junction, and mRNABench itself
writes all-zero splice tracks for its designed-mRNA MPRA data (`mrl_sample.py`).
"""

import hashlib
import json
import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest
import yaml

from mrnaprobe import MrnaProbeError
from mrnaprobe.data import build_dataset
from mrnaprobe.models import resolve_models, run_spec
from mrnaprobe.tracks import (
    check_model_tracks,
    cut_regions,
    needed_tracks,
    region,
    region_span,
    track_features,
)
from tests.conftest import ROOT

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


def recorded_track(runs, length: int) -> np.ndarray:
    """A track from the fixture's arithmetic runs [first, last, step] of its 1-positions."""
    track = np.zeros(length, dtype=np.int8)
    for first, last, step in runs:
        track[first : last + 1 : max(step, 1)] = 1
    return track


def test_regions_and_track_features_match_mrnabench():
    """Golden: what mrna-bench 1.3.2's get_cds (mRNA-FM), get_fiveprime_utr (UTR-LM),
    get_threeprime_utr (3UTRBERT, k = 3..6) and naive 6-track features give on the 233 Leppek
    constructs and 6 edge cases (scripts/mrnabench/record_tracks.py)."""
    recorded = json.loads((ROOT / "tests/fixtures/mrnabench/tracks.json").read_text())
    assert recorded["mrna_bench"] == "1.3.2" and len(recorded["cases"]) == 239
    for case in recorded["cases"]:
        length = case["length"]
        cds = recorded_track(case["cds"], length)
        splice = recorded_track(case["splice"], length)
        ours = {"cds": region_span(length, cds, "cds")[:2],
                "utr5": region_span(length, cds, "utr5")[:2]}  # fmt: skip
        ours |= {f"utr3_k{k}": region_span(length, cds, "utr3", k)[:2] for k in range(3, 7)}
        assert {k: list(v) for k, v in ours.items()} == case["regions"], case["id"]
        assert track_features([cds], [splice])[0].tolist() == case["naive_track_columns"]


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
    with pytest.raises(MrnaProbeError, match=r"models.k.tracks: kind kmer reads both tracks"):
        check_model_tracks({"k": {"kind": "kmer", "tracks": ["cds"]}}, {"a": with_tracks})


# ---- the models that read tracks, on the real constructs ------------------------------------

ORTHRUS_4 = "quietflamingo/orthrus-large-4-track"
ORTHRUS_6 = "quietflamingo/orthrus-large-6-track"


@pytest.fixture(scope="module")
def dataset(tmp_path_factory, leppek):
    """The Leppek constructs with tracks as the data stage writes them (parquet + info)."""
    path, _ = leppek
    folder = tmp_path_factory.mktemp("leppek_dataset")
    build_dataset("leppek", ENTRY, path).to_parquet(folder / "leppek.parquet", index=False)
    digest = hashlib.sha256((folder / "leppek.parquet").read_bytes()).hexdigest()
    (folder / "leppek.json").write_text(json.dumps({"sha256": digest}))
    return folder


@pytest.fixture(scope="module")
def orthrus_hub(tmp_path_factory):
    """An offline hub cache with the fakehub's tiny Orthrus (4 tracks) and, unless the
    family builds it, a 6-track copy under quietflamingo/orthrus-large-6-track: n_tracks 6,
    its input layer widened by two seeded random columns (CDS and splice channels)."""
    import torch
    from safetensors.torch import load_file, save_file

    from tests.fakehub import build_hub

    cache = tmp_path_factory.mktemp("orthrus_hub")
    build_hub(cache, ["orthrus"])
    four = cache / f"models--{ORTHRUS_4.replace('/', '--')}"
    six = cache / f"models--{ORTHRUS_6.replace('/', '--')}"
    if six.exists():  # the fakehub family builds it itself
        return cache
    shutil.copytree(four, six)
    snapshot = six / "snapshots" / (six / "refs" / "main").read_text()
    config = json.loads((snapshot / "config.json").read_text())
    (snapshot / "config.json").write_text(json.dumps({**config, "n_tracks": 6}))
    tensors = load_file(snapshot / "model.safetensors")
    weight = tensors["embedding.weight"]
    extra = torch.randn(weight.shape[0], 2, generator=torch.Generator().manual_seed(6)) * 0.5
    tensors["embedding.weight"] = torch.cat([weight, extra], dim=1).contiguous()
    save_file(tensors, snapshot / "model.safetensors", metadata={"format": "pt"})
    return cache


@pytest.fixture
def offline(monkeypatch, tmp_path):
    """No hub access, remote code cached under tmp_path."""
    import huggingface_hub.constants as hub_constants

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_MODULES_CACHE", str(tmp_path / "modules"))
    monkeypatch.setattr(hub_constants, "HF_HUB_OFFLINE", True)


def embed_rule(dataset, out, model: str, spec: dict, cache=None):
    """scripts/embed.py as rule `embed` runs it on the Leppek dataset, in this process."""
    from tests.test_fakehub import run_embed_rule

    run_embed_rule(dataset, out, model, spec, str(cache) if cache else None, name="leppek")
    return np.load(out / "leppek.npy"), json.loads((out / "leppek.json").read_text())


def spec_of(name: str, **changes) -> dict:
    return run_spec({**resolve_models([name], ROOT / "config" / "models.yaml")[name], **changes})


def test_naive_sixtrack_adds_cds_length_and_exon_count(dataset, leppek, tmp_path):
    """naive-6track = the naive k-mer baseline + CDS length + exon count. The designed mRNAs
    have no splice sites, so the exon-count column is zero in every row and is dropped with
    the other all-zero columns; the CDS length column is the real coding length, scaled."""
    _, source = leppek
    four, _ = embed_rule(dataset, tmp_path / "four", "kmer-naive", spec_of("kmer-naive"))
    six, sidecar = embed_rule(dataset, tmp_path / "six", "naive-6track", spec_of("naive-6track"))
    assert sidecar["tracks"] == ["cds", "splice"] and sidecar["source"].endswith("-6track")
    assert six.shape == (233, four.shape[1] + 1)
    np.testing.assert_array_equal(six[:, :-1], four)
    lengths = source["CDS.sequence.longest"].str.len().to_numpy(float)
    np.testing.assert_allclose(six[:, -1], (lengths - lengths.mean()) / lengths.std(), atol=1e-5)


def test_orthrus_sixtrack_stops_at_the_mamba_kernel_on_cpu(dataset, orthrus_hub, offline,
                                                           tmp_path):  # fmt: skip
    from tests.test_fakehub import KERNEL_ERROR

    with pytest.raises((Exception, SystemExit)) as failed:
        embed_rule(dataset, tmp_path, "orthrus-large-6track", spec_of("orthrus-large-6track"),
                   orthrus_hub)  # fmt: skip
    assert KERNEL_ERROR.search(f"{failed.type.__name__}: {failed.value}"), failed.value


def test_orthrus_sixtrack_embeds_sequence_cds_and_splice(dataset, orthrus_hub, offline,
                                                         monkeypatch, tmp_path):  # fmt: skip
    """With a plain-PyTorch Mamba standing in for the CUDA kernels (tests/mamba_reference):
    the 6-track checkpoint loads strictly and embeds 8 real constructs; each embedding equals
    the model's own `representation` of the input mRNABench's wrapper stacks (one-hot A/C/G/T,
    then the CDS track, then the splice track); the CDS track changes the embedding."""
    import torch
    from transformers import AutoModel

    from tests import mamba_reference

    mamba_reference.install(monkeypatch)
    small = tmp_path / "small"
    small.mkdir()
    frame = pd.read_parquet(dataset / "leppek.parquet").sort_values(
        "sequence", key=lambda s: s.str.len()).head(8)  # fmt: skip
    frame.to_parquet(small / "leppek.parquet", index=False)
    (small / "leppek.json").write_text((dataset / "leppek.json").read_text())
    spec = spec_of("orthrus-large-6track", token_budget=2048)
    ours, sidecar = embed_rule(small, tmp_path / "six", "orthrus-large-6track", spec, orthrus_hub)
    assert ours.shape[0] == 8 and np.isfinite(ours).all() and sidecar["tracks"] == ["cds", "splice"]

    model = AutoModel.from_pretrained(ORTHRUS_6, trust_remote_code=True, cache_dir=orthrus_hub)
    for row, embedding in zip(frame.itertuples(), ours, strict=True):
        one_hot = np.eye(4)[["ACGT".index(b) for b in row.sequence]]
        stacked = np.hstack([one_hot, row.cds.reshape(-1, 1), row.splice.reshape(-1, 1)])
        x = torch.tensor(stacked, dtype=torch.float32)[None]
        with torch.no_grad():
            expected = model.representation(x, torch.tensor([len(row.sequence)]),
                                             channel_last=True)[0].numpy()  # fmt: skip
        cosine = expected @ embedding / np.linalg.norm(expected) / np.linalg.norm(embedding)
        assert cosine > 0.99999, (row.id, cosine)

    frame["cds"] = [np.zeros_like(c) for c in frame["cds"]]
    frame.to_parquet(small / "leppek.parquet", index=False)
    blind, _ = embed_rule(small, tmp_path / "no_cds", "orthrus-large-6track", spec, orthrus_hub)
    assert np.abs(blind - ours).max() > 1e-3


def test_workflow_carries_the_tracks_from_the_table_to_the_6track_baseline(leppek, tmp_path):
    """Snakemake: the data stage stores the Leppek tracks, the embed job reads them."""
    from tests.test_bad_inputs import SNAKEMAKE

    path, _ = leppek
    config = {"seeds": [1], "splits": ["random"], "mirror": str(path.parent),
              "datasets": {"leppek": {**ENTRY, "source": {"path": path.name}}},
              "models": ["naive-6track"]}  # fmt: skip
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    target = "results/embeddings/naive-6track/leppek.npy"
    done = subprocess.run([*SNAKEMAKE, "--directory", str(tmp_path), "--configfile",
                           str(tmp_path / "config.yaml"), "--cores", "1", target],
                          capture_output=True, text=True, timeout=600)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    stored = pd.read_parquet(tmp_path / "results/data/leppek.parquet")
    assert stored["cds"].map(len).tolist() == stored["sequence"].str.len().tolist()
    sidecar = json.loads((tmp_path / target.replace(".npy", ".json")).read_text())
    assert np.load(tmp_path / target).shape[0] == 233 and sidecar["tracks"] == ["cds", "splice"]


def test_planning_stops_a_track_model_on_a_dataset_without_tracks(tmp_path):
    """snakemake -n: one line naming the dataset, the model and the track; nothing written."""
    from tests.test_bad_inputs import SNAKEMAKE

    rows = pd.DataFrame({"name": [f"r{i}" for i in range(8)], "seq": ["ACGTACGTAC"] * 8,
                         "y": np.arange(8.0)})  # fmt: skip
    rows.to_csv(tmp_path / "toy.csv", index=False)
    config = {"seeds": [1], "splits": ["random"], "mirror": str(tmp_path),
              "datasets": {"toy": {"format": "csv", "source": {"path": "toy.csv"},
                                   "columns": {"id": "name", "sequence": "seq"},
                                   "targets": {"y": {"task": "regression"}}}},
              "models": ["kmer-naive", "naive-6track"]}  # fmt: skip
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    done = subprocess.run([*SNAKEMAKE, "-n", "--directory", str(tmp_path), "--configfile",
                           str(tmp_path / "config.yaml")], capture_output=True, text=True,
                          timeout=300)  # fmt: skip
    assert done.returncode != 0
    lines = [line for line in done.stderr.splitlines() if "mrnaprobe: error:" in line]
    assert lines == [
        "mrnaprobe: error: config key datasets.toy.columns: model naive-6track reads the cds "
        "track (tracks) but dataset toy names no `cds:` column"
    ], done.stderr
    assert "Traceback" not in done.stderr and not (tmp_path / "results").exists()
