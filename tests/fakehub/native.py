"""Builders of the families native to transformers or multimolecule (no remote code).

Each writes what the real hub repository holds: the config of the real config class (the
real repository's settings that matter to the architecture and tokenizer: vocabulary,
positions, codon/k-mer mode, norms), safetensors weights of the pretraining class the hub
checkpoint was converted with, and the real tokenizer class's files; only the size is
shrunk (SHRINK). multimolecule's own converters (`multimolecule/models/*/
convert_checkpoint.py`) write the real repositories the same way.
"""

from __future__ import annotations

import itertools
from pathlib import Path

from tests.fakehub import family

#: Size of every tiny model (heads divide the hidden size; 2 layers).
SHRINK = {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 4,
          "intermediate_size": 64}  # fmt: skip


# --------------------------------------------------------------------------- NT v1

NT_SPECIALS = ["<unk>", "<pad>", "<mask>", "<cls>", "<eos>", "<bos>"]
NT_LETTERS = "ATCG"


def nt_vocabulary() -> list[str]:
    """NT v1's 4,107 tokens: 6 special tokens, the 4,096 6-mers over A/T/C/G (that order,
    product order), then the single nucleotides A, T, C, G, N (the fall-back tokens)."""
    kmers = ["".join(p) for p in itertools.product(NT_LETTERS, repeat=6)]
    return [*NT_SPECIALS, *kmers, *NT_LETTERS, "N"]


@family(
    "nucleotide-transformer-v1",
    "InstaDeepAI/nucleotide-transformer-500m-human-ref",
    "InstaDeepAI/nucleotide-transformer-500m-1000g",
    "InstaDeepAI/nucleotide-transformer-2.5b-1000g",
    "InstaDeepAI/nucleotide-transformer-2.5b-multi-species",
)
def nucleotide_transformer_v1(folder: Path, hub_id: str) -> None:
    """transformers' EsmForMaskedLM (absolute positions, 1,002 of them) and EsmTokenizer over
    the 6-mer vocabulary: <cls> before the sequence, no <eos> after it."""
    from transformers import EsmConfig, EsmForMaskedLM, EsmTokenizer

    vocab = folder / "vocab.txt"
    vocab.write_text("\n".join(nt_vocabulary()) + "\n")
    tokenizer = EsmTokenizer(str(vocab), model_max_length=1000, eos_token=None)
    tokenizer.save_pretrained(folder)
    config = EsmConfig(
        vocab_size=len(nt_vocabulary()),
        max_position_embeddings=1002,
        position_embedding_type="absolute",
        emb_layer_norm_before=False,
        token_dropout=False,
        pad_token_id=tokenizer.pad_token_id,
        mask_token_id=tokenizer.mask_token_id,
        **SHRINK,
    )
    EsmForMaskedLM(config).save_pretrained(folder)


# --------------------------------------------------------------------------- multimolecule


def multimolecule_snapshot(folder: Path, name: str, nmers: int = 1, codon: bool = False,
                           task: str = "PreTraining", **settings) -> None:  # fmt: skip
    """A multimolecule checkpoint as its converter writes it: `<Name>For<task>` with the
    given config settings (SHRINK sizes unless overridden), RnaTokenizer with the standard
    tokenizer config (k-mer or codon vocabulary where asked)."""
    import multimolecule
    from multimolecule.tokenisers.rna.utils import get_alphabet, get_tokenizer_config

    config_class = getattr(multimolecule, f"{name}Config")
    model_class = getattr(multimolecule, f"{name}For{task}")
    vocab = get_alphabet(nmers=3 if codon else nmers).vocabulary
    config = config_class(**{**SHRINK, "vocab_size": len(vocab), **settings})
    tokenizer_config = dict(get_tokenizer_config())
    if nmers > 1:
        tokenizer_config["nmers"] = nmers
    if codon:
        tokenizer_config["codon"] = True
    if getattr(config, "position_embedding_type", None) == "absolute":
        tokenizer_config["model_max_length"] = config.max_position_embeddings - 2
    model_class(config).save_pretrained(folder)
    multimolecule.RnaTokenizer(**tokenizer_config).save_pretrained(folder)


@family("rna-fm", "multimolecule/rnafm")
def rna_fm(folder: Path, hub_id: str) -> None:
    """RNA-FM with its real 12 layers (still 32 wide): mRNABench's wrapper reads
    `representations[12]` of the rna-fm package's model (scripts/mrnabench/record_models.py)."""
    multimolecule_snapshot(folder, "RnaFm", num_hidden_layers=12)


@family("mrna-fm", "multimolecule/mrnafm")
def mrna_fm(folder: Path, hub_id: str) -> None:
    """RNA-FM on codons: the 3-mer vocabulary, codon tokenizer, no embedding norm; 12 layers
    as RNA-FM."""
    multimolecule_snapshot(folder, "RnaFm", codon=True, embed_norm=False, num_hidden_layers=12)


@family("rinalmo", "multimolecule/rinalmo-giga")
def rinalmo(folder: Path, hub_id: str) -> None:
    multimolecule_snapshot(folder, "RiNALMo")


@family("utr-lm", "multimolecule/utrlm-te_el", "multimolecule/utrlm-mrl")
def utr_lm(folder: Path, hub_id: str) -> None:
    """UTR-LM (ESM-2 style, rotary, token dropout) with its MFE head; the MRL checkpoint
    (ESM2SISS) also carries the secondary-structure head."""
    heads = {"mfe_head": {"num_labels": 1}}
    if hub_id.endswith("mrl"):
        heads["structure_head"] = {"num_labels": 3}
    multimolecule_snapshot(folder, "UtrLm", **heads)


@family(
    "splicebert",
    "multimolecule/splicebert",
    "multimolecule/splicebert.510",
    "multimolecule/splicebert-human.510",
)
def splicebert(folder: Path, hub_id: str) -> None:
    """SpliceBERT: 1,024-nt context, the .510 variants 512 positions."""
    positions = 512 if hub_id.endswith(".510") else 1026
    multimolecule_snapshot(folder, "SpliceBert", max_position_embeddings=positions)


@family("ernie-rna", "multimolecule/ernierna", "multimolecule/ernierna-ss")
def ernie_rna(folder: Path, hub_id: str) -> None:
    """ERNIE-RNA; the -ss copy is the secondary-structure fine-tuned model (its converter:
    ErnieRnaForSecondaryStructurePrediction, attention biases in the output)."""
    if hub_id.endswith("-ss"):
        multimolecule_snapshot(folder, "ErnieRna", task="SecondaryStructurePrediction",
                               output_attention_biases=True)  # fmt: skip
    else:
        multimolecule_snapshot(folder, "ErnieRna")


@family("rnabert", "multimolecule/rnabert")
def rnabert(folder: Path, hub_id: str) -> None:
    """RNABERT: 440 absolute positions, narrow feed-forward."""
    multimolecule_snapshot(folder, "RnaBert", max_position_embeddings=440)


@family("rnaernie", "multimolecule/rnaernie")
def rnaernie(folder: Path, hub_id: str) -> None:
    """RNAErnie (ERNIE-base layout): 513 absolute positions."""
    multimolecule_snapshot(folder, "RnaErnie", max_position_embeddings=513)


@family("rna-msm", "multimolecule/rnamsm")
def rna_msm(folder: Path, hub_id: str) -> None:
    multimolecule_snapshot(folder, "RnaMsm")


@family(
    "3utrbert",
    "multimolecule/utrbert-3mer",
    "multimolecule/utrbert-4mer",
    "multimolecule/utrbert-5mer",
    "multimolecule/utrbert-6mer",
)
def utrbert(folder: Path, hub_id: str) -> None:
    """3UTRBERT: overlapping k-mer vocabulary (k from the hub id), 512 positions."""
    nmers = int(hub_id.split("-")[-1][0])
    multimolecule_snapshot(folder, "UtrBert", nmers=nmers, max_position_embeddings=512)
