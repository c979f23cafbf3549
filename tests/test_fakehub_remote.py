"""The remote-code families of the offline hub (tests/fakehub/remote.py), beyond what the
shared family test (tests/test_fakehub.py) checks: each tokenizer frames and numbers a
sequence as the hub's does (Caduceus's too, although its model needs mamba-ssm), NT v2's
6-mer fast path reproduces its tokenizer on sequences with N, and NT v2 loads as its own
architecture (bias-free SwiGLU), not as transformers' native ESM."""

import numpy as np
import pytest

from mrnaprobe.compat import hub_tokenizer_class, remote_code_compat
from mrnaprobe.embed import fast_tokenizer
from mrnaprobe.models import load_adapter, resolve_models, special_frame
from tests.fakehub import CATALOG, FAMILIES

pytestmark = pytest.mark.fakehub

NT_V2 = "InstaDeepAI/nucleotide-transformer-v2-50m-multi-species"
#: hub id -> (ids before, ids after a sequence; ids of "ACGTN" without special tokens or
#: None where the vocabulary is not one token per letter).
HUB_TOKENIZERS = {
    NT_V2: ([3], [], None),  # <cls> only; 6-mers then single letters
    "quietflamingo/dnabert2-no-flashattention": ([1], [2], None),  # [CLS] ... [SEP], BPE
    "quietflamingo/dnaberts-no-flashattention": ([1], [2], None),
    # HyenaDNA's get_vocab() maps chr(i) -> i, so transformers (4.46 and 5 alike) adds its
    # special tokens as new ids (12 ...): [SEP] = 13 after the sequence, no [CLS] before.
    "LongSafari/hyenadna-tiny-1k-seqlen-hf": ([], [13], [7, 8, 9, 10, 11]),
    "LongSafari/hyenadna-large-1m-seqlen-hf": ([], [13], [7, 8, 9, 10, 11]),
    "kuleshov-group/caduceus-ps_seqlen-131k_d_model-256_n_layer-16": (
        [],
        [1],
        [7, 8, 9, 10, 11],  # [SEP] after only
    ),
}


def hub_tokenizer(hub_id: str):
    """The tokenizer as the adapters load it (the class the snapshot maps)."""
    from transformers import AutoTokenizer

    kwargs = {"trust_remote_code": True}
    with remote_code_compat():
        return hub_tokenizer_class(AutoTokenizer, hub_id, kwargs).from_pretrained(hub_id, **kwargs)


def sequences_with_n(n: int = 40, seed: int = 1) -> list[str]:
    """Random A/C/G/T sequences of lengths that are and are not multiples of 6, some with
    runs of N inside and at the ends."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        s = "".join(rng.choice(list("ACGT"), int(rng.integers(1, 400))))
        if i % 3 == 0:
            at = int(rng.integers(0, len(s)))
            s = s[:at] + "N" * int(rng.integers(1, 8)) + s[at:]
        out.append(("N" + s) if i % 7 == 0 else s)
    return out


def test_every_remote_family_is_registered_with_its_catalog_hub_ids():
    built = {hub for fam in FAMILIES.values() for hub in fam.hub_ids}
    assert set(HUB_TOKENIZERS) <= built
    assert FAMILIES["caduceus"].gpu_kernel and FAMILIES["orthrus"].gpu_kernel
    assert FAMILIES["nucleotide-transformer-v2"].gpu_kernel is None


@pytest.mark.parametrize("hub_id", list(HUB_TOKENIZERS))
def test_remote_tokenizers_frame_and_number_as_the_hub(fakehub, hub_id):
    prefix, suffix, letters = HUB_TOKENIZERS[hub_id]
    tokenizer = hub_tokenizer(hub_id)
    assert special_frame(tokenizer) == (prefix, suffix)
    if letters is not None:
        assert tokenizer("ACGTN", add_special_tokens=False)["input_ids"] == letters
    ids = tokenizer("ACGTTGCA" * 20, add_special_tokens=False)["input_ids"]
    assert 0 < len(ids) <= 160 and tokenizer.unk_token_id not in ids


def test_nt_v2_six_mer_fast_path_reproduces_its_tokenizer(fakehub):
    tokenizer = hub_tokenizer(NT_V2)
    sequences = sequences_with_n()
    fast = fast_tokenizer(tokenizer, sequences)
    assert fast.name == "greedy k-mers"
    expected = tokenizer(sequences, add_special_tokens=False)["input_ids"]
    assert [list(ids) for ids in fast(sequences)] == expected
    assert tokenizer.convert_ids_to_tokens(fast(["ACGTACGGN"])[0].tolist()) == [
        "ACGTAC", "G", "G", "N"]  # fmt: skip


def test_nt_v2_loads_as_its_own_swiglu_architecture(fakehub):
    import torch

    spec = resolve_models(["nt-v2-50m"], CATALOG)["nt-v2-50m"]
    adapter = load_adapter(spec, spec["source"])
    model = adapter.model
    assert type(model).__module__.startswith("transformers_modules.")  # the hub's code
    layer = model.esm.encoder.layer[0]
    assert layer.intermediate.dense.out_features == 2 * model.config.intermediate_size
    assert layer.intermediate.dense.bias is None and layer.output.dense.bias is None
    ids = adapter.tokenize(["ACGTACGTACGTNACGT"])[0]
    hidden = adapter.forward(torch.tensor([ids]), None)
    assert hidden.shape == (1, len(ids), model.config.hidden_size)


def test_hyenadna_loads_the_hub_code_where_multimolecule_registers_hyenadna(fakehub):
    """multimolecule registers its own `hyenadna` model type; the Auto classes would pick it
    over the hub's remote code (other module names: random weights, or a strict-load stop)."""
    import multimolecule  # noqa: F401  (registers hyenadna with the Auto classes)

    spec = resolve_models(["hyenadna-tiny-1k"], CATALOG)["hyenadna-tiny-1k"]
    adapter = load_adapter(spec, spec["source"])
    assert type(adapter.model).__module__.startswith("transformers_modules.")
    assert type(adapter.tokenizer).__module__.startswith("transformers_modules.")
    assert adapter.hidden_size == adapter.model.config.d_model
