"""Builders of the families whose hub repositories ship their own modelling code.

Each snapshot holds what the real hub repository holds: its remote code (vendored under
`code/<family>/`, sources in `code/README.md`), a `config.json` with the real repository's
`auto_map` and architecture settings (only the size shrunk, SHRINK), safetensors weights of
the class the hub checkpoint was saved from, initialised by that remote code, and the real
tokenizer files. The weights are made by loading the snapshot's own code the way
`from_pretrained` does (`trust_remote_code`, through `mrnaprobe.compat`), so a key or shape
the code expects is a key or shape the file holds.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tests.fakehub import family
from tests.fakehub.native import SHRINK, nt_vocabulary

CODE = Path(__file__).parent / "code"
#: Why the mamba-ssm families stop on a CPU (tests/test_fakehub.py checks them up to it).
MAMBA_KERNEL = "mamba-ssm selective scan (CUDA extension selective_scan_cuda)"


def copy_code(folder: Path, name: str, *files: str) -> None:
    """The hub repository's remote-code (and tokenizer) files, as vendored."""
    for file in files:
        shutil.copy(CODE / name / file, folder / file)


def write_json(path: Path, data: dict) -> None:
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


def save_weights(model, folder: Path) -> None:
    """The model's state dict as model.safetensors (tied tensors stored once each, as
    transformers writes them)."""
    from safetensors.torch import save_file

    seen, tensors = set(), {}
    for key, tensor in model.state_dict().items():
        pointer = tensor.untyped_storage().data_ptr()
        if pointer in seen:
            continue
        seen.add(pointer)
        tensors[key] = tensor.detach().clone().contiguous()
    save_file(tensors, str(folder / "model.safetensors"), metadata={"format": "pt"})


def init_remote(folder: Path, auto_class: str):
    """A random-init model of the snapshot's own remote code (as `from_pretrained` would
    import it), through mrnaprobe.compat's transformers-5 shims."""
    import transformers

    from mrnaprobe.compat import remote_code_compat

    with remote_code_compat():
        config = transformers.AutoConfig.from_pretrained(folder, trust_remote_code=True)
        auto = getattr(transformers, auto_class)
        return auto.from_config(config, trust_remote_code=True).eval()


# --------------------------------------------------------------------------- NT v2

#: Real (hidden, layers, heads, intermediate) of each v2 size, for the record; the tiny
#: copies all use SHRINK.
NT_V2_IDS = [
    f"InstaDeepAI/nucleotide-transformer-v2-{size}-multi-species"
    for size in ("50m", "100m", "250m", "500m")
]


@family("nucleotide-transformer-v2", *NT_V2_IDS)
def nucleotide_transformer_v2(folder: Path, hub_id: str) -> None:
    """InstaDeep's remote ESM (rotary, bias-free SwiGLU feed-forward: `add_bias_fnn`),
    only `AutoModelForMaskedLM` mapped; config.json without `model_type` as on the hub; the
    6-mer EsmTokenizer of NT v1 (<cls> in front, no <eos>)."""
    from transformers import EsmTokenizer

    copy_code(folder, "nucleotide-transformer-v2", "esm_config.py", "modeling_esm.py")
    vocab = folder / "vocab.txt"
    vocab.write_text("\n".join(nt_vocabulary()) + "\n")
    tokenizer = EsmTokenizer(str(vocab), model_max_length=2048, eos_token=None)
    tokenizer.save_pretrained(folder)
    config = {
        "architectures": ["EsmForMaskedLM"],
        "auto_map": {
            "AutoConfig": "esm_config.EsmConfig",
            "AutoModelForMaskedLM": "modeling_esm.EsmForMaskedLM",
            "AutoModelForTokenClassification": "modeling_esm.EsmForTokenClassification",
            "AutoModelForSequenceClassification": "modeling_esm.EsmForSequenceClassification",
        },
        "add_bias_fnn": False,
        "attention_probs_dropout_prob": 0.0,
        "emb_layer_norm_before": False,
        "esmfold_config": None,
        "hidden_dropout_prob": 0.0,
        "initializer_range": 0.02,
        "is_folding_model": False,
        "layer_norm_eps": 1e-12,
        "mask_token_id": tokenizer.mask_token_id,
        "max_position_embeddings": 2050,
        "pad_token_id": tokenizer.pad_token_id,
        "position_embedding_type": "rotary",
        "tie_word_embeddings": False,
        "token_dropout": False,
        "torch_dtype": "float32",
        "use_cache": False,
        "vocab_list": None,
        "vocab_size": len(nt_vocabulary()),
        **SHRINK,
    }
    write_json(folder / "config.json", config)
    save_weights(init_remote(folder, "AutoModelForMaskedLM"), folder)


# --------------------------------------------------------------------------- DNABERT-2 / -S

DNABERT_FILES = ("bert_layers.py", "bert_padding.py", "configuration_bert.py")
#: The import block the quietflamingo copies drop (no Triton flash attention).
TRITON_IMPORT = """try:
    from .flash_attn_triton import flash_attn_qkvpacked_func
except ImportError as e:
    flash_attn_qkvpacked_func = None
"""


def dnabert_snapshot(folder: Path, flash_attention: bool) -> None:
    """MosaicBERT (ALiBi, unpadded attention, GLU MLP) as DNABERT-2 ships it: remote code,
    the real BPE tokenizer.json (4,096 tokens, [UNK] [CLS] [SEP] [PAD] [MASK] = 0..4),
    BertForMaskedLM weights. Without `flash_attention` (the quietflamingo copies mRNABench
    loads) bert_layers.py does not import the Triton kernel and flash_attn_triton.py is
    absent, so attention always runs in PyTorch."""
    copy_code(folder, "dnabert2", *DNABERT_FILES, "tokenizer.json", "tokenizer_config.json")
    if flash_attention:
        copy_code(folder, "dnabert2", "flash_attn_triton.py")
    else:
        layers = folder / "bert_layers.py"
        text = layers.read_text()
        assert TRITON_IMPORT in text, "vendored bert_layers.py changed"
        layers.write_text(text.replace(TRITON_IMPORT, "flash_attn_qkvpacked_func = None\n"))
    config = {
        "alibi_starting_size": 512,
        "attention_probs_dropout_prob": 0.0,
        "auto_map": {
            "AutoConfig": "configuration_bert.BertConfig",
            "AutoModel": "bert_layers.BertModel",
            "AutoModelForMaskedLM": "bert_layers.BertForMaskedLM",
            "AutoModelForSequenceClassification": "bert_layers.BertForSequenceClassification",
        },
        "classifier_dropout": None,
        "gradient_checkpointing": False,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "initializer_range": 0.02,
        "layer_norm_eps": 1e-12,
        "max_position_embeddings": 512,
        "position_embedding_type": "absolute",
        "torch_dtype": "float32",
        "type_vocab_size": 2,
        "use_cache": True,
        "vocab_size": 4096,
        **SHRINK,
    }
    write_json(folder / "config.json", config)
    save_weights(init_remote(folder, "AutoModelForMaskedLM"), folder)


@family(
    "dnabert2",
    "quietflamingo/dnabert2-no-flashattention",
    "quietflamingo/dnaberts-no-flashattention",
)
def dnabert2(folder: Path, hub_id: str) -> None:
    """DNABERT-2 and DNABERT-S (same architecture and tokenizer; DNABERT-S is DNABERT-2
    contrastively fine-tuned), as the no-flash-attention copies mRNABench loads."""
    dnabert_snapshot(folder, flash_attention=False)


# --------------------------------------------------------------------------- HyenaDNA

#: hub id -> (d_model, n_layer, max_seq_len) of the real checkpoint; the tiny copies keep
#: the context (the implicit filters' positional embedding is a weight of that length).
HYENA = {
    "LongSafari/hyenadna-tiny-1k-seqlen-hf": (128, 2, 1026),
    "LongSafari/hyenadna-tiny-16k-seqlen-d128-hf": (128, 2, 16386),
    "LongSafari/hyenadna-small-32k-seqlen-hf": (256, 4, 32770),
    "LongSafari/hyenadna-medium-160k-seqlen-hf": (256, 8, 160002),
    "LongSafari/hyenadna-medium-450k-seqlen-hf": (256, 8, 450002),
    "LongSafari/hyenadna-large-1m-seqlen-hf": (256, 8, 1000002),
}


@family("hyenadna", *HYENA)
def hyenadna(folder: Path, hub_id: str) -> None:
    """HyenaDNA's remote code (implicit long convolutions, causal), HyenaDNAForCausalLM
    weights, and its CharacterTokenizer ([CLS] [SEP] [BOS] [MASK] [PAD] [RESERVED] [UNK] =
    0..6, A C G T N = 7..11)."""
    copy_code(
        folder, "hyenadna", "configuration_hyena.py", "modeling_hyena.py", "tokenization_hyena.py"
    )
    max_seq_len = HYENA[hub_id][2]
    write_json(
        folder / "tokenizer_config.json",
        {
            "auto_map": {"AutoTokenizer": ["tokenization_hyena.CharacterTokenizer", None]},
            "characters": ["A", "C", "G", "T", "N"],
            "model_max_length": max_seq_len,
            "padding_side": "left",
            "tokenizer_class": "CharacterTokenizer",
        },
    )
    config = {
        "activation_freq": 10,
        "architectures": ["HyenaDNAForCausalLM"],
        "auto_map": {
            "AutoConfig": "configuration_hyena.HyenaConfig",
            "AutoModel": "modeling_hyena.HyenaDNAModel",
            "AutoModelForCausalLM": "modeling_hyena.HyenaDNAForCausalLM",
            "AutoModelForSequenceClassification": (
                "modeling_hyena.HyenaDNAForSequenceClassification"
            ),
        },
        "d_inner": 4 * SHRINK["hidden_size"],
        "d_model": SHRINK["hidden_size"],
        "emb_dim": 5,
        "embed_dropout": 0.1,
        "filter_order": 64,
        "hyena_dropout": 0.0,
        "hyena_filter_dropout": 0.0,
        "hyena_order": 2,
        "initializer_range": 0.02,
        "layer_norm_epsilon": 1e-05,
        "max_seq_len": max_seq_len,
        "model_type": "hyenadna",
        "n_layer": SHRINK["num_hidden_layers"],
        "num_inner_mlps": 2,
        "pad_vocab_size_multiple": 8,
        "short_filter_order": 3,
        "tie_word_embeddings": False,
        "torch_dtype": "float32",
        "train_freq": True,
        "use_bias": True,
        "vocab_size": 12,
    }
    write_json(folder / "config.json", config)
    save_weights(init_remote(folder, "AutoModelForCausalLM"), folder)
