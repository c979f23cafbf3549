"""The fused ESM forward computes what transformers' EsmModel computes."""

import numpy as np
import pytest

from mrnaprobe.embed import build_random_encoder, embed_sequences
from mrnaprobe.models import complete_spec, load_adapter
from tests.helpers import cosine, random_sequences

torch = pytest.importorskip("torch")


def saved_esm(path, **config):
    """A random-init EsmModel saved with save_pretrained and loaded back with AutoModel."""
    from transformers import AutoModel, EsmConfig, EsmModel

    torch.manual_seed(0)
    settings = {"vocab_size": 12, "hidden_size": 32, "num_hidden_layers": 2,
                "num_attention_heads": 4, "intermediate_size": 64, "max_position_embeddings": 80,
                "pad_token_id": 1, "mask_token_id": 9, **config}  # fmt: skip
    EsmModel(EsmConfig(**settings), add_pooling_layer=False).save_pretrained(path)
    return AutoModel.from_pretrained(path).eval()


def padded_batch(seed=0):
    """Right-padded ids (pad 1) with some mask tokens (9), and their attention mask."""
    generator = torch.Generator().manual_seed(seed)
    ids = torch.randint(4, 10, (4, 60), generator=generator)
    mask = (torch.arange(60)[None] < torch.tensor([60, 41, 7, 60])[:, None]).long()
    return ids.masked_fill(mask == 0, 1), mask


@pytest.mark.parametrize(
    "config",
    [
        {"position_embedding_type": "rotary", "token_dropout": True},  # ESM-2
        {"position_embedding_type": "absolute", "emb_layer_norm_before": True},  # NT v1 style
        {"position_embedding_type": "rotary", "emb_layer_norm_before": True},
    ],
)
def test_fused_forward_equals_the_models_own(tmp_path, config):
    from mrnaprobe.fused import FusedEsm, supports

    model = saved_esm(tmp_path, **config)
    assert supports(model)
    fused = FusedEsm(model, "cpu", torch.float32)
    ids, mask = padded_batch()
    with torch.inference_mode():
        expected = model(input_ids=ids, attention_mask=mask).last_hidden_state
        got = fused(ids, mask)
        unpadded = fused(ids[[0, 3]], None)  # no mask: SDPA without one
        narrow = fused(ids[[0, 3], :25], None)  # rotary angles: a view of the wider table
        expected_narrow = model(input_ids=ids[[0, 3], :25]).last_hidden_state
    real = mask.bool()
    assert torch.allclose(got[real], expected[real], atol=1e-5)
    assert torch.allclose(unpadded, expected[[0, 3]], atol=1e-5)
    assert torch.allclose(narrow, expected_narrow, atol=1e-5)


def test_fused_bf16_stays_close_to_fp32(tmp_path):
    from mrnaprobe.fused import FusedEsm

    model = saved_esm(tmp_path, position_embedding_type="rotary", token_dropout=True)
    ids, mask = padded_batch(1)
    with torch.inference_mode():
        expected = model(input_ids=ids, attention_mask=mask).last_hidden_state
        got = FusedEsm(model, "cpu", torch.bfloat16)(ids, mask)
    assert got.dtype == torch.bfloat16
    real = mask.bool()
    assert cosine(got[real].float().numpy(), expected[real].numpy()).min() >= 0.999


def test_other_architectures_and_layer_choices_keep_the_models_forward(tmp_path):
    from transformers import BertConfig, BertModel

    from mrnaprobe.fused import supports

    bert = BertModel(BertConfig(vocab_size=12, hidden_size=16, num_hidden_layers=1,
                                num_attention_heads=2, intermediate_size=32))  # fmt: skip
    assert not supports(bert)
    spec = complete_spec("esm", {"kind": "random-init", "max_tokens": 64})
    build_random_encoder(tmp_path, spec)
    assert load_adapter(spec, tmp_path).fused is not None
    for override in ({"fused": False}, {"layer": 1}, {"auto_class": "AutoModelForMaskedLM"}):
        assert load_adapter({**spec, **override}, tmp_path).fused is None, override


def test_engine_embeddings_are_the_same_with_and_without_fusion(tmp_path):
    spec = complete_spec("esm", {"kind": "random-init", "max_tokens": 64, "token_budget": 512})
    build_random_encoder(tmp_path, spec)
    sequences = random_sequences((10, 95, 40, 130, 3, 40), alphabet="ACGTN")
    fused, info = embed_sequences(sequences, spec, tmp_path, progress=False)
    plain, plain_info = embed_sequences(sequences, {**spec, "fused": False}, tmp_path,
                                        progress=False)  # fmt: skip
    assert (info["forward"], plain_info["forward"]) == ("fused-esm", "model")
    assert np.abs(fused - plain).max() < 1e-5
    assert cosine(fused, plain).min() >= 0.99999
