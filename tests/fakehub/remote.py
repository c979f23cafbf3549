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
    """A random-init model of the snapshot's own remote code (the classes its auto_map
    names, as the adapters load them), through mrnaprobe.compat's transformers-5 shims."""
    import transformers

    from mrnaprobe.compat import hub_model_class, remote_code_compat

    with remote_code_compat():
        auto = getattr(transformers, auto_class)
        model_class, config = hub_model_class(auto, str(folder), {})
        return model_class(config).eval()


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


# --------------------------------------------------------------------------- Mamba families
# mamba-ssm imports its CUDA extension (selective_scan_cuda) when its modules load, so these
# snapshots' weights are laid out here, tensor by tensor, as the remote code's state dict
# holds them (tied tensors once, as transformers saves them); tests/test_fakehub_remote.py
# checks that layout against the real modules where mamba-ssm imports.


def mamba_mixer(prefix: str, d_model: int, d_state: int = 16, d_conv: int = 4,
                expand: int = 2, tied_projections: bool = False) -> dict:  # fmt: skip
    """One mamba_ssm `Mamba` mixer's parameters with its own initialisation (S4D-real A,
    D = 1, dt bias = inverse softplus of dt in [1e-3, 1e-1]); without the in/out
    projections when they are tied to another mixer's."""
    import math

    import torch

    inner, rank = expand * d_model, math.ceil(d_model / 16)
    dt = torch.exp(torch.rand(inner) * (math.log(0.1) - math.log(1e-3)) + math.log(1e-3))
    dt = dt.clamp(min=1e-4)
    tensors = {
        "A_log": torch.log(torch.arange(1, d_state + 1, dtype=torch.float32)).repeat(inner, 1),
        "D": torch.ones(inner),
        "conv1d.weight": (torch.rand(inner, 1, d_conv) * 2 - 1) / math.sqrt(d_conv),
        "conv1d.bias": (torch.rand(inner) * 2 - 1) / math.sqrt(d_conv),
        "x_proj.weight": torch.randn(rank + 2 * d_state, inner) * 0.02,
        "dt_proj.weight": (torch.rand(inner, rank) * 2 - 1) * rank**-0.5,
        "dt_proj.bias": dt + torch.log(-torch.expm1(-dt)),
    }
    if not tied_projections:
        tensors["in_proj.weight"] = torch.randn(2 * inner, d_model) * 0.02
        tensors["out_proj.weight"] = torch.randn(d_model, inner) * 0.02
    return {prefix + key: value for key, value in tensors.items()}


def save_tensors(tensors: dict, folder: Path) -> None:
    from safetensors.torch import save_file

    tensors = {key: value.contiguous() for key, value in sorted(tensors.items())}
    save_file(tensors, str(folder / "model.safetensors"), metadata={"format": "pt"})


CADUCEUS = {
    "kuleshov-group/caduceus-ps_seqlen-131k_d_model-256_n_layer-16": True,  # rcps
    "kuleshov-group/caduceus-ph_seqlen-131k_d_model-256_n_layer-16": False,
}
#: Token ids of the Caduceus character tokenizer (as HyenaDNA's) and their complements.
CADUCEUS_VOCAB = 16  # 12 tokens padded to a multiple of 8
CADUCEUS_COMPLEMENT = {**{i: i for i in range(CADUCEUS_VOCAB)}, 7: 10, 8: 9, 9: 8, 10: 7}


@family("caduceus", *CADUCEUS, gpu_kernel=MAMBA_KERNEL)
def caduceus(folder: Path, hub_id: str) -> None:
    """Caduceus (bidirectional Mamba; -ps: reverse-complement equivariant, RCPS): the
    hub's remote code, CaduceusForMaskedLM weights (RMSNorm, fused add-norm, the reverse
    Mamba's projections tied to the forward one's), CaduceusTokenizer (A C G T N = 7..11,
    [SEP] after the sequence)."""
    import torch

    copy_code(folder, "caduceus", "configuration_caduceus.py", "modeling_caduceus.py",
              "modeling_rcps.py", "tokenization_caduceus.py")  # fmt: skip
    rcps, d_model, layers = CADUCEUS[hub_id], SHRINK["hidden_size"], SHRINK["num_hidden_layers"]
    write_json(
        folder / "tokenizer_config.json",
        {
            "auto_map": {"AutoTokenizer": ["tokenization_caduceus.CaduceusTokenizer", None]},
            "characters": ["A", "C", "G", "T", "N"],
            "complement_map": {"A": "T", "C": "G", "G": "C", "T": "A", "N": "N"},
            "model_max_length": 131072,
            "padding_side": "left",
            "tokenizer_class": "CaduceusTokenizer",
        },
    )
    ssm_cfg = {"bias": False, "conv_bias": True, "d_conv": 4, "d_state": 16,
               "dt_init": "random", "dt_init_floor": 1e-4, "dt_max": 0.1, "dt_min": 0.001,
               "dt_rank": "auto", "dt_scale": 1.0, "expand": 2, "use_fast_path": True}  # fmt: skip
    write_json(
        folder / "config.json",
        {
            "architectures": ["CaduceusForMaskedLM"],
            "auto_map": {
                "AutoConfig": "configuration_caduceus.CaduceusConfig",
                "AutoModel": "modeling_caduceus.Caduceus",
                "AutoModelForMaskedLM": "modeling_caduceus.CaduceusForMaskedLM",
                "AutoModelForSequenceClassification": (
                    "modeling_caduceus.CaduceusForSequenceClassification"
                ),
            },
            "bidirectional": True,
            "bidirectional_strategy": "add",
            "bidirectional_weight_tie": True,
            "complement_map": {str(k): v for k, v in CADUCEUS_COMPLEMENT.items()},
            "d_model": d_model,
            "fused_add_norm": True,
            "initializer_cfg": {
                "initializer_range": 0.02,
                "n_residuals_per_layer": 1,
                "rescale_prenorm_residual": True,
            },  # fmt: skip
            "model_type": "caduceus",
            "n_layer": layers,
            "norm_epsilon": 1e-05,
            "pad_vocab_size_multiple": 8,
            "rcps": rcps,
            "residual_in_fp32": False,
            "rms_norm": True,
            "ssm_cfg": ssm_cfg,
            "torch_dtype": "float32",
            "vocab_size": CADUCEUS_VOCAB,
        },
    )
    backbone = "caduceus.backbone."
    complement = torch.tensor([CADUCEUS_COMPLEMENT[i] for i in range(CADUCEUS_VOCAB)])
    embedding = torch.randn(CADUCEUS_VOCAB, d_model) * 0.02
    if rcps:  # RCPSEmbedding / RCPSWrapper / RCPSLMHead (head tied to the embedding)
        tensors = {backbone + "embeddings.word_embeddings.embedding.weight": embedding,
                   backbone + "embeddings.word_embeddings.complement_map": complement,
                   "lm_head.complement_map": complement.clone()}  # fmt: skip
    else:
        tensors = {backbone + "embeddings.word_embeddings.weight": embedding,
                   "lm_head.weight": torch.randn(CADUCEUS_VOCAB, d_model) * 0.02}  # fmt: skip
    for i in range(layers):
        mixer = f"{backbone}layers.{i}.mixer." + ("submodule." if rcps else "")
        tensors.update(mamba_mixer(mixer + "mamba_fwd.", d_model))
        tensors.update(mamba_mixer(mixer + "mamba_rev.", d_model, tied_projections=True))
        tensors[f"{backbone}layers.{i}.norm.weight"] = torch.ones(d_model)
    tensors[backbone + "norm_f.weight"] = torch.ones(d_model)
    save_tensors(tensors, folder)


#: hub id -> input tracks (one-hot A/C/G/T; 6 adds CDS and splice-site channels).
#: quietflamingo/orthrus-large-6-track (6) waits for tests/test_fakehub.py's dataset to
#: carry cds/splice tracks: its entry stops at reading them, before the model.
ORTHRUS = {
    "quietflamingo/orthrus-large-4-track": 4,
    "quietflamingo/orthrus-base-4-track": 4,
}


@family("orthrus", *ORTHRUS, gpu_kernel=MAMBA_KERNEL)
def orthrus(folder: Path, hub_id: str) -> None:
    """Orthrus (unidirectional Mamba over one-hot tracks, contrastive): the hub's remote
    code (`orthrus.py`, mamba-ssm 1.x or 2.x blocks), OrthrusPretrainedModel weights
    (LayerNorm blocks, no MLM head); no tokenizer (inputs are one-hot tracks)."""
    import torch

    copy_code(folder, "orthrus", "orthrus.py")
    d_model, layers, tracks = SHRINK["hidden_size"], SHRINK["num_hidden_layers"], ORTHRUS[hub_id]
    write_json(
        folder / "config.json",
        {
            "architectures": ["OrthrusPretrainedModel"],
            "auto_map": {
                "AutoConfig": "orthrus.OrthrusConfig",
                "AutoModel": "orthrus.OrthrusPretrainedModel",
            },  # fmt: skip
            "has_mlm_head": False,
            "model_type": "orthrus",
            "n_tracks": tracks,
            "ssm_model_dim": d_model,
            "ssm_n_layers": layers,
            "torch_dtype": "float32",
        },
    )
    tensors = {"embedding.weight": torch.randn(d_model, tracks) * 0.5,
               "embedding.bias": torch.zeros(d_model),
               "norm_f.weight": torch.ones(d_model),
               "norm_f.bias": torch.zeros(d_model)}  # fmt: skip
    for i in range(layers):
        tensors.update(mamba_mixer(f"layers.{i}.mixer.", d_model))
        tensors[f"layers.{i}.norm.weight"] = torch.ones(d_model)
        tensors[f"layers.{i}.norm.bias"] = torch.zeros(d_model)
    save_tensors(tensors, folder)
