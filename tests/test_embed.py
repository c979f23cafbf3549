"""Baselines and the embedding engine (tiny random-init ESM through from_pretrained)."""

import logging

import numpy as np
import pytest

from mrnaprobe import MrnaProbeError
from mrnaprobe.embed import (
    COMPOSITION_COLUMNS,
    build_random_encoder,
    chunk_tokens,
    composition_baseline,
    composition_features,
    embed_hf,
    embed_sequences,
    embed_shard,
    fast_tokenizer,
    gc_fraction,
    kmer_counts,
    merge_shards,
    naive_baseline,
    pack_batches,
    run_batches,
    split_shards,
    token_chunks,
)
from mrnaprobe.models import complete_spec, load_adapter
from tests.helpers import cosine, random_sequences

SPEC = complete_spec("tiny", {"kind": "random-init", "hidden_size": 16, "layers": 2, "heads": 2,
                              "max_tokens": 32, "token_budget": 256})  # fmt: skip


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


def test_composition_features_count_what_they_say():
    raw = composition_features(["AACG", "NNNN", "GCNGC"])
    col = {name: i for i, name in enumerate(COMPOSITION_COLUMNS)}
    assert raw.shape == (3, 24)
    first, all_n, gapped = raw
    assert first[col["length"]] == 4 and first[col["gc"]] == 0.5 and first[col["A"]] == 0.5
    assert first[col["AA"]] == first[col["AC"]] == first[col["CG"]] == pytest.approx(1 / 3)
    assert all_n[col["N"]] == 1 and all_n[col["gc"]] == 0 and all_n[col["AA"]] == 0
    assert gapped[col["GC"]] == 1 and gapped[col["gc"]] == 1  # C-N and N-G pairs skipped
    assert gapped[col["N"]] == pytest.approx(0.2)
    scaled = composition_baseline(["AACG", "NNNN", "GCNGC", "ACGTTT"])
    assert scaled.dtype == np.float32 and np.isfinite(scaled).all()


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
    chunks = token_chunks(tokenizer, ["A" * 70, "C" * 5], max_tokens=32)
    assert chunks.lengths.tolist() == [32, 32, 12, 7] and chunks.owners.tolist() == [0, 0, 0, 1]
    assert chunks.ids(3) == tokenizer("C" * 5)["input_ids"]
    assert chunks.ids(2) == tokenizer("A" * 10)["input_ids"]
    assert chunks.body.tolist() == [30, 30, 10, 5]


def test_chunking_keeps_every_token_once():
    ids = [np.arange(n) + 100 for n in (0, 1, 7, 8, 9, 20)]
    chunks = chunk_tokens(ids, [1], [2, 3], max_tokens=11)  # room 8
    assert chunks.lengths.tolist() == [3, 4, 10, 11, 11, 4, 11, 11, 7]
    for index in range(len(chunks)):
        tokens = chunks.ids(index)
        assert tokens[:1] == [1] and tokens[-2:] == [2, 3]
    body = np.concatenate([chunks.ids(i)[1:-2] for i in range(len(chunks))])
    assert body.tolist() == np.concatenate(ids).tolist()
    with pytest.raises(MrnaProbeError, match="no room"):
        chunk_tokens(ids, [1], [2], max_tokens=2)


def test_batches_respect_the_token_budget():
    lengths = np.array([5, 30, 12, 30, 7])
    batches = pack_batches(lengths, token_budget=64)
    assert sorted(np.concatenate(batches).tolist()) == list(range(5))
    assert all(len(b) * lengths[b].max() <= 64 for b in batches)
    equal = pack_batches(np.array([5, 5, 4, 5, 4, 9]), token_budget=64, equal_lengths=True)
    assert [sorted(b.tolist()) for b in equal] == [[5], [0, 1, 3], [2, 4]]


def test_shards_are_contiguous_and_balanced():
    lengths = np.full(100, 10)
    batches = pack_batches(lengths, token_budget=20)
    shards = split_shards(batches, lengths, 3)
    assert [len(s) for s in shards] == [17, 17, 16]
    assert [b.tolist() for s in shards for b in s] == [b.tolist() for b in batches]


def test_fast_tokenizer_matches_the_tokenizer(tiny_model):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    dna = random_sequences([1, 50, 333, 7], alphabet="ACGTN") + ["NNNN"]
    rna = ["ACGUUA", *dna]  # ESM's tokenizer turns a run of unknown characters into one <unk>
    for sequences, path in ((dna, "_TableTokenizer"), (rna, "_BatchTokenizer")):
        fast = fast_tokenizer(tokenizer, sequences)
        assert type(fast).__name__ == path
        for got, sequence in zip(fast(sequences), sequences, strict=True):
            assert got.tolist() == tokenizer(sequence, add_special_tokens=False)["input_ids"]


def test_batched_embeddings_match_one_at_a_time(tiny_model):
    sequences = random_sequences((10, 95, 40, 200, 3))
    batched = embed_hf(sequences, SPEC, tiny_model)
    single = np.vstack([embed_hf([s], {**SPEC, "token_budget": 32}, tiny_model) for s in sequences])
    assert batched.shape == (5, 16) and cosine(batched, single).min() >= 0.9999


def test_embedding_is_the_mean_over_all_tokens_of_all_chunks(tiny_model):
    import torch
    from transformers import AutoModel, AutoTokenizer

    model, tokenizer = (
        AutoModel.from_pretrained(tiny_model),
        AutoTokenizer.from_pretrained(tiny_model),
    )
    sequence = random_sequences([75], seed=3)[0]
    states = []
    for start in range(0, 75, 30):  # max_tokens 32 = 30 nucleotides + <cls>, <eos>
        ids = torch.tensor([tokenizer(sequence[start : start + 30])["input_ids"]])
        with torch.no_grad():
            states.append(model(input_ids=ids).last_hidden_state[0, 1:-1])
    expected = torch.cat(states).mean(0).numpy()
    assert np.allclose(embed_hf([sequence], SPEC, tiny_model)[0], expected, atol=1e-5)


def test_rna_models_read_u(tiny_model):
    dna = embed_hf(["ACGT"], SPEC, tiny_model)
    rna = embed_hf(["ACGT"], {**SPEC, "alphabet": "rna"}, tiny_model)
    assert not np.allclose(dna, rna)  # U is unknown to this DNA vocabulary


def test_shards_merge_to_the_unsharded_bytes(tiny_model):
    sequences = random_sequences(np.random.default_rng(1).integers(1, 120, 60), alphabet="ACGTN")
    whole, info = embed_sequences(sequences, SPEC, tiny_model, progress=False)
    parts = [embed_shard(sequences, SPEC, tiny_model, i, 4, progress=False) for i in range(4)]
    assert sum(len(p["chunk"]) for p in parts) == info["chunks"]
    merged, info = merge_shards(parts)
    assert merged.tobytes() == whole.tobytes()
    assert info["shards"] == 4 and len(info["shard_seconds"]) == 4
    with pytest.raises(MrnaProbeError, match="expected each"):
        merge_shards(parts[:3])


def test_cpu_worker_threads_give_the_same_bytes(tiny_model):
    sequences = random_sequences(np.random.default_rng(2).integers(1, 120, 80), alphabet="ACGTN")
    one, info = embed_sequences(sequences, SPEC, tiny_model, threads=1, progress=False)
    assert info["batches"] > 3
    three, _ = embed_sequences(sequences, SPEC, tiny_model, threads=3, progress=False)
    assert three.tobytes() == one.tobytes()
    shard = embed_shard(sequences, SPEC, tiny_model, 0, 2, threads=2, progress=False)
    assert len(shard["chunk"]) == len(np.unique(shard["chunk"])) > 0


def test_out_of_memory_halves_the_budget_and_retries(tiny_model, caplog):
    from mrnaprobe.embed import plan_embedding

    adapter = load_adapter(SPEC, tiny_model)
    sequences = random_sequences([30] * 12)
    plan = plan_embedding(adapter, sequences, SPEC)
    forward = adapter.forward

    def small_batches_only(ids, mask):
        if ids.shape[0] > 2:
            raise RuntimeError("CUDA out of memory. Tried to allocate 2 GiB")
        return forward(ids, mask)

    _, reference = run_batches(adapter, plan.chunks, plan.batches, SPEC, progress=False)
    adapter.forward = small_batches_only
    with caplog.at_level(logging.WARNING):
        _, sums = run_batches(adapter, plan.chunks, plan.batches, SPEC, progress=False)
    assert "token budget halved" in caplog.text
    assert np.allclose(sums, reference, atol=1e-5)
    adapter.forward = lambda ids, mask: (_ for _ in ()).throw(RuntimeError("out of memory"))
    with pytest.raises(MrnaProbeError, match="single chunk"):
        run_batches(adapter, plan.chunks, plan.batches, SPEC, progress=False)


def test_progress_with_eta_goes_to_the_log(tiny_model, caplog):
    with caplog.at_level(logging.INFO, logger="mrnaprobe"):
        embed_sequences(random_sequences([50] * 20), SPEC, tiny_model)
    assert "tok/s" in caplog.text and "100%" in caplog.text and "tokenised" in caplog.text
