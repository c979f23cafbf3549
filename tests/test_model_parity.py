"""Golden tests: every catalog entry that config/paper.yaml uses embeds as mRNABench's own
wrapper does. The vectors in tests/fixtures/mrnabench/embeddings/<family>.npz were computed
by mrna-bench 1.3.2's wrapper classes (scripts/mrnabench/record_models.py, run in the
recording environment of scripts/mrnabench/venv.sh --models) on the tiny real-architecture
models of the offline hub (tests/fakehub); here the same snapshots go through our engine
(CPU, fp32) and each sequence's embedding must have cosine >= 0.9999 with mRNABench's and
differ from it by at most 1e-3 of its norm: tiny random models depend little on position,
so a chunk 2 tokens shorter (SpliceBERT's 1,022 vs 1,024 nt) moves the cosine by only
5e-6 but the vector by 3e-3, while fp32 rounding stays near 1e-4 (cosine 0.9999999)."""

from pathlib import Path

import numpy as np
import pytest
import yaml

from mrnaprobe import MrnaProbeError
from mrnaprobe.embed import chunk_tokens
from mrnaprobe.models import resolve_models

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "mrnabench" / "embeddings"
MIN_COSINE = 0.9999
MAX_RELATIVE = 1e-3


def recordings() -> list[tuple[str, str]]:
    """(family file, hub id) of every recorded model."""
    out = []
    for path in sorted(FIXTURES.glob("*.npz")):
        with np.load(path) as data:
            out += [(path.stem, key.split("|")[0]) for key in data if key.endswith("|embeddings")]
    return out


def paper_specs() -> dict[str, dict]:
    models = yaml.safe_load((ROOT / "config" / "paper.yaml").read_text())["models"]
    return resolve_models(models, ROOT / "config" / "models.yaml")


def sequences() -> list[str]:
    lines = (FIXTURES / "sequences.tsv").read_text().splitlines()[1:]
    return [line.split("\t")[1] for line in lines]


def test_recordings_are_small_and_cover_paper_entries():
    size = sum(p.stat().st_size for p in FIXTURES.iterdir())
    assert size < 800_000, f"recorded embeddings take {size} bytes"
    sources = {spec.get("source") for spec in paper_specs().values()}
    orphans = [hub_id for _, hub_id in recordings() if hub_id not in sources]
    assert recordings() and not orphans, f"recorded but not used by config/paper.yaml: {orphans}"


def layout(chunks) -> list[list[int]]:
    return [chunks.ids(i) for i in range(len(chunks))]


def test_framings_lay_chunks_out_as_the_wrappers():
    seven = [np.arange(10, 17)]
    # NT: [CLS] once, the framed token list cut every max_tokens, [CLS] pooled
    nt = chunk_tokens(seven, [1], [], 3, framing="per_sequence", pool_specials=True)
    assert layout(nt) == [[1, 10, 11], [12, 13, 14], [15, 16]] and nt.body.tolist() == [3, 3, 2]
    split = chunk_tokens([np.arange(10, 13)], [1], [2], 2, framing="per_sequence")
    assert layout(split) == [[1, 10], [11, 12], [2]] and split.body.tolist() == [1, 2, 0]
    whole = chunk_tokens(seven, [1], [2], None, framing="per_sequence", pool_specials=True)
    assert layout(whole) == [[1, *range(10, 17), 2]] and whole.body.tolist() == [9]
    # RNA-FM: [CLS] on the first chunk, [EOS] on the last; one chunk: [CLS] only
    ends = chunk_tokens(seven, [1], [2], 5, framing="ends", pool_specials=True)
    assert layout(ends) == [[1, 10, 11, 12], [13, 14, 15], [16, 2]]
    assert layout(chunk_tokens([np.arange(10, 12)], [1], [2], 5, framing="ends")) == [[1, 10, 11]]
    # SpliceBERT-510: the last chunk reaches back to a full context
    overlap = chunk_tokens(seven, [1], [2], 5, overlap_last=True, pool_specials=True)
    assert layout(overlap) == [[1, 10, 11, 12, 2], [1, 13, 14, 15, 2], [1, 14, 15, 16, 2]]
    assert overlap.body.tolist() == [5, 5, 5]
    # 3UTRBERT: each chunk framed, only its first (CLS) position pooled
    cls = chunk_tokens(seven, [1], [2], 5, pooling="cls_mean")
    assert cls.head.tolist() == [0, 0, 0] and cls.body.tolist() == [1, 1, 1]
    with pytest.raises(MrnaProbeError, match="framing"):
        chunk_tokens(seven, [1], [2], 5, framing="per_chunk_typo")


@pytest.mark.fakehub
@pytest.mark.parametrize(("family", "hub_id"), recordings())
def test_paper_entries_embed_as_mrnabench(fakehub, family, hub_id):
    from mrnaprobe.embed import embed_sequences
    from mrnaprobe.models import loaded_revision

    with np.load(FIXTURES / f"{family}.npz") as data:
        expected = data[f"{hub_id}|embeddings"]
        recorded_revision = str(data[f"{hub_id}|revision"])
    # each distinct engine setting of the entries, on whole sequences: an input_region
    # (CDS, UTR) is cut out before the engine (tests/test_tracks.py), and mRNABench's
    # mRNA-FM was recorded on its no-CDS fallback, the whole sequence in whole codons
    entries = {}
    for name, spec in paper_specs().items():
        spec = {k: v for k, v in spec.items() if k not in ("input_region", "region_min_length")}
        if spec.get("source") == hub_id and spec not in entries.values():
            entries[name] = spec
    assert entries, f"no config/paper.yaml entry uses {hub_id}"
    for name, spec in entries.items():
        revision = loaded_revision(hub_id, spec["revision"])
        assert revision == recorded_revision, (
            f"{hub_id}: the offline hub's snapshot {revision} is not the one recorded "
            f"({recorded_revision}): re-run scripts/mrnabench/record_models.py {family}"
        )
        got, _ = embed_sequences(sequences(), spec, hub_id, progress=False)
        cosine = np.sum(got * expected, axis=1) / (
            np.linalg.norm(got, axis=1) * np.linalg.norm(expected, axis=1)
        )
        relative = np.linalg.norm(got - expected, axis=1) / np.linalg.norm(expected, axis=1)
        worst = int(np.argmax(relative))
        assert cosine.min() >= MIN_COSINE and relative.max() <= MAX_RELATIVE, (
            f"{name} ({hub_id}): cosine {cosine.min():.7f}, relative difference "
            f"{relative.max():.2e} from mRNABench's embedding of sequence {worst} "
            f"({len(sequences()[worst])} nt)"
        )


def test_evo2_concatenates_its_layers_in_order(monkeypatch):
    """mRNABench's Evo 2: the mean of the middle block and the mean of the final norm,
    concatenated (a stand-in `evo2` package returns per-layer embeddings)."""
    import sys
    import types

    import torch

    from mrnaprobe.models import Evo2Adapter

    class Evo2:
        def __init__(self, name):
            self.model = torch.nn.Linear(1, 1)
            self.tokenizer = types.SimpleNamespace(tokenize=lambda s: [ord(c) for c in s])

        def __call__(self, ids, return_embeddings, layer_names):
            fill = {"blocks.1.pre_norm": 1.0, "norm": 2.0}
            out = {n: torch.full((*ids.shape, 3), fill[n]) * ids[..., None] for n in layer_names}
            return None, out

    monkeypatch.setitem(sys.modules, "evo2", types.SimpleNamespace(Evo2=Evo2))
    spec = {"layer": ["blocks.1.pre_norm", "norm"], "revision": "main"}
    hidden = Evo2Adapter(spec, "arcinstitute/evo2_7b").forward(torch.tensor([[1, 2]]), None)
    assert hidden.shape == (1, 2, 6)
    assert hidden[0, 1].tolist() == [2.0, 2.0, 2.0, 4.0, 4.0, 4.0]
