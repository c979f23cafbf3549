"""k-mer baseline and the Hugging Face path (tiny random-init model through from_pretrained)."""

import numpy as np
import pytest

from mrnaprobe.embed import (
    build_random_encoder,
    embed_hf,
    gc_fraction,
    kmer_counts,
    naive_baseline,
    pack_batches,
    token_chunks,
)

SPEC = {"hidden_size": 16, "layers": 2, "heads": 2, "max_tokens": 32, "token_budget": 256,
        "init_seed": 0, "trust_remote_code": False, "revision": None,
        "alphabet": "dna"}  # fmt: skip


def test_kmer_counts_are_overlapping_and_skip_n():
    counts = kmer_counts(["AAAA", "ACNAC"], ks=[2, 3])
    assert counts.shape == (2, 16 + 64)
    assert counts[0, 0] == 3 and counts[0].sum() == 3 + 2  # AA x3, AAA x2
    assert counts[1, 1] == 2 and counts[1].sum() == 2  # AC twice, nothing across N


def test_gc_fraction_handles_all_n_windows():
    assert np.allclose(gc_fraction(["GGCA", "NNNN", "GCNN"]), [0.75, 0.0, 1.0])


def test_naive_baseline_drops_empty_columns_and_scales():
    features = naive_baseline(["ACGTACGTAA", "CCCCGGGGAA", "NNNNNNNNNN"], ks=range(3, 5))
    assert features.dtype == np.float32 and np.isfinite(features).all()
    assert np.allclose(features.mean(axis=0), 0, atol=1e-6)
    assert features.shape[1] < 64 + 256 + 1


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    path = tmp_path_factory.mktemp("models") / "tiny"
    build_random_encoder(path, SPEC)
    return str(path)


def test_saved_model_loads_through_from_pretrained(tiny_model):
    from transformers import AutoModel, AutoTokenizer

    assert AutoModel.from_pretrained(tiny_model).config.hidden_size == 16
    assert AutoTokenizer.from_pretrained(tiny_model)("ACGTN")["input_ids"] == [0, 4, 5, 6, 7, 8, 2]


def test_long_sequences_are_chunked_to_the_context(tiny_model):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    chunks, owners = token_chunks(tokenizer, ["A" * 70, "C" * 5], max_tokens=32)
    assert [len(c) for c in chunks] == [32, 32, 12, 7] and owners.tolist() == [0, 0, 0, 1]


def test_batches_respect_the_token_budget():
    lengths = np.array([5, 30, 12, 30, 7])
    batches = pack_batches(lengths, token_budget=64)
    assert sorted(np.concatenate(batches).tolist()) == list(range(5))
    assert all(len(b) * lengths[b].max() <= 64 for b in batches)


def test_batched_embeddings_match_one_at_a_time(tiny_model):
    rng = np.random.default_rng(0)
    sequences = ["".join(rng.choice(list("ACGT"), n)) for n in (10, 95, 40, 200, 3)]
    batched = embed_hf(sequences, SPEC, tiny_model)
    single = np.vstack([embed_hf([s], {**SPEC, "token_budget": 32}, tiny_model) for s in sequences])
    cosine = (
        (batched * single).sum(1) / np.linalg.norm(batched, axis=1) / np.linalg.norm(single, axis=1)
    )
    assert batched.shape == (5, 16) and cosine.min() >= 0.9999


def test_rna_models_read_u(tiny_model):
    dna = embed_hf(["ACGT"], SPEC, tiny_model)
    rna = embed_hf(["ACGT"], {**SPEC, "alphabet": "rna"}, tiny_model)
    assert not np.allclose(dna, rna)  # U is unknown to this DNA vocabulary
