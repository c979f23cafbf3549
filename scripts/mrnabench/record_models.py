"""Record embeddings computed by mRNABench's own model wrappers, as facts for the golden
tests (tests/test_model_parity.py): tests/fixtures/mrnabench/embeddings/<family>.npz.

Run in the recording environment (scripts/mrnabench/venv.sh --models DIR: mrna-bench 1.3.2
and the base-model versions it pins), on the offline hub of tiny real-architecture models
that the project's own environment writes (mrna-bench is AGPL: this script only runs it
and stores what it returns; no code of it is copied):

    .venv/bin/python -m tests.fakehub /tmp/fakehub/hub
    DIR/bin/python scripts/mrnabench/record_models.py --hub /tmp/fakehub/hub [FAMILY ...]

(Each recording stores the snapshot sha it ran on; the test stops when the hub's differs.)

The sequences (sequences.tsv next to the recordings) are a fixed, deterministic selection
of real sequences from ../shared/data: short 5'UTRs (< 50 nt and 50 nt), 101-nt CLIP
windows with N, whole mRNAs, and prefixes of real mRNAs whose lengths straddle each
family's chunk size (510/1,022/1,024 nt, 3UTRBERT's 510 k-mers, NT's 1,000 tokens,
RiNALMo's 8,190 nt, HyenaDNA's 16,000 nt). Each wrapper is built exactly as mrna-bench's
model catalog builds it (class and version string), with mrna-bench's weights folder set
to the hub cache, on CPU in float32, and embeds each sequence with `embed_sequence`.
"""

import argparse
import csv
import gzip
import os
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT.parent / "shared" / "data"
OUT = ROOT / "tests" / "fixtures" / "mrnabench" / "embeddings"
#: Prefix lengths (nt) of real mRNAs: both sides of every family's chunk boundary.
STRADDLE = (509, 510, 511, 512, 513, 514, 515, 516, 1020, 1021, 1022, 1023, 1024, 1025, 1026)
LONG = (5994, 6000, 8190, 8191, 16001)

#: family -> (mrna-bench catalog class, {mrna-bench model version: hub id it loads}).
FAMILIES = {
    "nucleotide-transformer-v1": ("NucleotideTransformer", {
        f"{v}": f"InstaDeepAI/nucleotide-transformer-{v}"
        for v in ("500m-human-ref", "500m-1000g", "2.5b-1000g", "2.5b-multi-species")}),
    "nucleotide-transformer-v2": ("NucleotideTransformer", {
        f"v2-{v}-multi-species": f"InstaDeepAI/nucleotide-transformer-v2-{v}-multi-species"
        for v in ("50m", "100m", "250m", "500m")}),
    "rinalmo": ("RiNALMo", {"rinalmo-giga": "multimolecule/rinalmo-giga"}),
    "utr-lm": ("UTR-LM", {"utrlm-te_el": "multimolecule/utrlm-te_el",
                          "utrlm-mrl": "multimolecule/utrlm-mrl"}),
    "ernie-rna": ("ERNIE-RNA", {"ernierna": "multimolecule/ernierna"}),
    "rna-msm": ("RNA-MSM", {"rnamsm": "multimolecule/rnamsm"}),
    "3utrbert": ("3UTRBERT", {f"utrbert-{k}mer": f"multimolecule/utrbert-{k}mer"
                              for k in (3, 4, 5, 6)}),
    "dnabert2": ("DNABERT2", {"dnabert2": "quietflamingo/dnabert2-no-flashattention"}),
    "dnabert-s": ("DNABERT-S", {"dnabert-s": "quietflamingo/dnaberts-no-flashattention"}),
    "hyenadna": ("HyenaDNA", {
        "hyenadna-tiny-16k-seqlen-d128-hf": "LongSafari/hyenadna-tiny-16k-seqlen-d128-hf"}),
    "rna-fm": ("RNA-FM", {"rna-fm": "multimolecule/rnafm"}),
    "mrna-fm": ("RNA-FM", {"mrna-fm": "multimolecule/mrnafm"}),
    "splicebert": ("SpliceBERT", {"SpliceBERT.1024nt": "multimolecule/splicebert",
                                  "SpliceBERT-human.510nt": "multimolecule/splicebert-human.510",
                                  "SpliceBERT.510nt": "multimolecule/splicebert.510"}),
}  # fmt: skip
#: SpliceBERT's own vocabulary (its Zenodo release, read by transformers' BertTokenizer) and
#: the multimolecule token each entry became in the hub port.
SPLICEBERT_VOCAB = {
    "[PAD]": "<pad>",
    "[UNK]": "<unk>",
    "[CLS]": "<cls>",
    "[SEP]": "<eos>",
    "[MASK]": "<mask>",
    "N": "N",
    "A": "A",
    "C": "C",
    "G": "G",
    "T": "U",
}


def real_sequences() -> list[tuple[str, str]]:
    """(name, DNA sequence) of the fixed selection, in a fixed order."""
    out = []
    with open(DATA / "sample2019_human_test_mlcis.csv") as handle:
        rows = [r for r in csv.DictReader(handle) if r["library"] == "human_utrs"]
    out += [(f"sample2019:{r['id']}", r["utr"]) for r in rows[:2]]
    with open(DATA / "calviello2016_hek293_te_mlcis.csv") as handle:
        rows = [r for r in csv.DictReader(handle) if 12 <= len(r["five_utr"]) < 50]
    out += [(f"calviello:{r['transcript_id']}", r["five_utr"]) for r in rows[:2]]
    with gzip.open(DATA / "ideeps_rbp31_10_PARCLIP_ELAVL1A_hg19_test.fa.gz", "rt") as handle:
        records = handle.read().split(">")[1:]
    windows = [(h.split(";")[0].strip(), "".join(s.split())) for h, s in
               (r.split("\n", 1) for r in records)]  # fmt: skip
    with_n = [(h, s) for h, s in windows if "N" in s and set(s) != {"N"}]
    out += [(f"ideeps:{h}", s) for h, s in with_n[:2]]
    with open(DATA / "dm3loc_subset_seed0_len_le3000.csv") as handle:
        rows = list(csv.DictReader(handle))
    out += [(f"dm3loc:{r['accession']}", r["sequence"]) for r in rows[:2]]
    long = [r for r in rows if len(r["sequence"]) >= max(STRADDLE)]
    out += [(f"dm3loc:{long[i % len(long)]['accession']}[:{n}]",
             long[i % len(long)]["sequence"][:n]) for i, n in enumerate(STRADDLE)]  # fmt: skip
    with gzip.open(DATA / "dm3loc_modified_multilabel_seq_nonredundent.fasta.gz", "rt") as handle:
        records = handle.read().split(">")[1:]
    parent = [(h.split(",")[1].split(":")[1], "".join(s.split()).upper().replace("U", "T"))
              for h, s in (r.split("\n", 1) for r in records)]  # fmt: skip
    longest = next((a, s) for a, s in parent if len(s) >= max(LONG) and set(s) <= set("ACGTN"))
    out += [(f"dm3loc:{longest[0]}[:{n}]", longest[1][:n]) for n in LONG]
    return [(name, seq.upper().replace("U", "T")) for name, seq in out]


def write_sequences(sequences) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with open(OUT / "sequences.tsv", "w") as handle:
        handle.write("name\tsequence\n")
        for name, seq in sequences:
            handle.write(f"{name}\t{seq}\n")


def snapshot(hub: Path, hub_id: str) -> str:
    """The commit sha that refs/main of `hub_id` names in the hub cache."""
    return (hub / ("models--" + hub_id.replace("/", "--")) / "refs" / "main").read_text().strip()


def splicebert_release(hub: Path) -> None:
    """mRNABench's SpliceBERT wrapper reads SpliceBERT's own release (transformers BertModel
    folders, <weights>/splice-bert/models/<version>), not the hub port: write that layout
    from each tiny multimolecule snapshot, undoing multimolecule's conversion (key names,
    vocabulary order), so both load the same weights."""
    import json

    from safetensors.torch import load_file, save_file

    for model_version, hub_id in FAMILIES["splicebert"][1].items():
        repo = hub / ("models--" + hub_id.replace("/", "--"))
        folder = repo / "snapshots" / snapshot(hub, hub_id)
        port = json.loads((folder / "config.json").read_text())
        vocab = (folder / "vocab.txt").read_text().split()
        order = [vocab.index(token) for token in SPLICEBERT_VOCAB.values()]
        weights = {}
        for key, value in load_file(folder / "model.safetensors").items():
            if key.startswith("model."):
                key = "bert." + key.removeprefix("model.").replace("layer_norm", "LayerNorm")
                weights[key] = value[order] if key.endswith("word_embeddings.weight") else value
        out = hub / "splice-bert" / "models" / model_version
        out.mkdir(parents=True, exist_ok=True)
        save_file({k: v.contiguous() for k, v in weights.items()}, out / "model.safetensors",
                  metadata={"format": "pt"})  # fmt: skip
        config = {k: port[k] for k in ("hidden_size", "num_hidden_layers", "num_attention_heads",
                  "intermediate_size", "max_position_embeddings", "type_vocab_size",
                  "layer_norm_eps", "hidden_act", "initializer_range")}  # fmt: skip
        config.update(model_type="bert", architectures=["BertForMaskedLM"], pad_token_id=0,
                      vocab_size=len(SPLICEBERT_VOCAB), hidden_dropout_prob=0.0,
                      attention_probs_dropout_prob=0.0)  # fmt: skip
        (out / "config.json").write_text(json.dumps(config, indent=2))
        (out / "vocab.txt").write_text("\n".join(SPLICEBERT_VOCAB) + "\n")
        (out / "tokenizer_config.json").write_text(
            json.dumps({"do_lower_case": False, "tokenizer_class": "BertTokenizer"})
        )


#: rna-fm package: model version -> (alphabet theme, checkpoint file name in the hub folder)
RNAFM_FILES = {"rna-fm": ("rna", "RNA-FM_pretrained.pth"),
               "mrna-fm": ("rna-3mer", "file_mRNA-FM_pretrained.pth")}  # fmt: skip


def rnafm_checkpoint(hub: Path, family: str) -> None:
    """mRNABench's RNA-FM wrapper builds the `rna-fm` package's model from that package's
    own checkpoint (torch hub folder <weights>/hub/checkpoints/RNA-FM_pretrained.pth: its
    argparse arguments and an ESM-1b state dict): write it from the tiny multimolecule
    snapshot, undoing multimolecule's conversion (key names, vocabulary order)."""
    import argparse
    import json

    import fm
    import torch
    from safetensors.torch import load_file

    hub_id = FAMILIES[family][1][family]
    theme, file_name = RNAFM_FILES[family]
    folder = hub / ("models--" + hub_id.replace("/", "--")) / "snapshots" / snapshot(hub, hub_id)
    port = json.loads((folder / "config.json").read_text())
    vocab = (folder / "vocab.txt").read_text().split()
    alphabet = fm.Alphabet.from_architecture("roberta_large", theme)
    rows = torch.tensor([vocab.index(t) if t in vocab else -1 for t in alphabet.all_toks])
    names = [("model.embeddings.word_embeddings", "embed_tokens"),
             ("model.embeddings.position_embeddings", "embed_positions"),
             ("model.embeddings.layer_norm", "emb_layer_norm_before"),
             ("model.encoder.layer_norm", "emb_layer_norm_after"),
             ("model.encoder.layer.", "layers."), ("attention.self.query", "self_attn.q_proj"),
             ("attention.self.key", "self_attn.k_proj"),
             ("attention.self.value", "self_attn.v_proj"),
             ("attention.output.dense", "self_attn.out_proj"),
             ("attention.layer_norm", "self_attn_layer_norm"), ("intermediate.dense", "fc1"),
             ("output.dense", "fc2"), (".layer_norm", ".final_layer_norm"),
             ("lm_head.transform.", "lm_head."),
             ("lm_head.decoder.bias", "lm_head.bias")]  # fmt: skip
    state = {}
    for key, value in load_file(folder / "model.safetensors").items():
        for old, new in names:
            if old in key and not (old == ".layer_norm" and not key.startswith("layers.")):
                key = key.replace(old, new)
        if key.endswith(("embed_tokens.weight", "lm_head.bias")):
            value = torch.where((rows >= 0).reshape(-1, *[1] * (value.ndim - 1)),
                                value[rows.clamp(min=0)], torch.zeros(()))  # fmt: skip
        if not key.startswith("ss_head."):  # the contact head (not used for embeddings)
            state[key] = value
    state["lm_head.weight"] = state["embed_tokens.weight"]
    args = argparse.Namespace(
        arch="roberta_large", layers=port["num_hidden_layers"], embed_dim=port["hidden_size"],
        ffn_embed_dim=port["intermediate_size"], attention_heads=port["num_attention_heads"],
        max_positions=port["max_position_embeddings"] - 2, dropout=0.0, attention_dropout=0.0,
        activation_dropout=0.0, token_dropout=port["token_dropout"],
    )  # fmt: skip
    out = hub / "hub" / "checkpoints"
    out.mkdir(parents=True, exist_ok=True)
    torch.save({"args": args, "model": state}, out / file_name)


def fp32_weights() -> None:
    """HyenaDNA's wrapper loads its weights as bfloat16 (`torch_dtype`): keep them float32,
    so that the recording compares computation, not bf16 rounding of the weights (the
    golden tests run fp32 on CPU; on a GPU mRNAProbe runs bf16 too)."""
    import transformers

    original = transformers.AutoModel.from_pretrained.__func__

    def from_pretrained(cls, *args, **kwargs):
        kwargs.pop("torch_dtype", None)
        return original(cls, *args, **kwargs)

    transformers.AutoModel.from_pretrained = classmethod(from_pretrained)


def record(family: str, hub: Path, sequences) -> None:
    """Embed every sequence with each version of the family's mRNABench wrapper."""
    import torch
    from mrna_bench.models.model_catalog import MODEL_CATALOG

    cls_name, versions = FAMILIES[family]
    if family == "splicebert":
        splicebert_release(hub)
    if family in RNAFM_FILES:
        rnafm_checkpoint(hub, family)
    if family == "hyenadna":
        fp32_weights()
    arrays = {}
    for model_version, hub_id in versions.items():
        wrapper = MODEL_CATALOG[cls_name](model_version, torch.device("cpu"))
        model = getattr(wrapper, "model", None)
        if isinstance(model, torch.nn.Module):
            model.float().eval()
        rows = []
        for _, seq in sequences:
            with torch.no_grad():
                if wrapper.is_sixtrack:  # mRNA-FM: CDS input; without a CDS the whole
                    none = np.zeros(len(seq))  # sequence cut to whole codons (its fallback)
                    vector = wrapper.embed_sequence_sixtrack(seq, none, none)
                else:
                    vector = wrapper.embed_sequence(seq)
            rows.append(vector.float().cpu().numpy().reshape(-1))
        arrays[f"{hub_id}|embeddings"] = np.stack(rows).astype(np.float32)
        arrays[f"{hub_id}|revision"] = np.array(snapshot(hub, hub_id))
        arrays[f"{hub_id}|mrnabench"] = np.array(f"{cls_name}('{model_version}')")
        shape = arrays[f"{hub_id}|embeddings"].shape
        print(f"{family}: {hub_id} as {cls_name}('{model_version}'): {shape}")
    packages = ("mrna-bench", "torch", "transformers", "multimolecule", "rna-fm")
    arrays["versions"] = np.array(" ".join(f"{p}=={version(p)}" for p in packages))
    np.savez_compressed(OUT / f"{family}.npz", **arrays)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hub", type=Path, required=True, help="fakehub cache (HF_HUB_CACHE)")
    parser.add_argument("families", nargs="*", help=f"default: all of {', '.join(FAMILIES)}")
    args = parser.parse_args()
    hub = args.hub.resolve()
    os.environ.update(HF_HUB_CACHE=str(hub), HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    import mrna_bench.utils

    # mrna-bench passes cache_dir=<its weights folder> to every from_pretrained: the hub cache
    mrna_bench.utils.DataManager.get_model_weights_path = lambda self: str(hub)
    sequences = real_sequences()
    families = args.families or list(FAMILIES)
    if len(families) == 1:
        record(families[0], hub, sequences)
        return
    # one process per family: mrna-bench's DNABERT2 wrapper re-registers transformers'
    # AutoModel mapping for BertConfig, which breaks a DNABERT-S load in the same process
    write_sequences(sequences)
    failed = [family for family in families if subprocess.run(
        [sys.executable, __file__, "--hub", str(hub), family], check=False).returncode]  # fmt: skip
    if failed:
        sys.exit(f"not recorded: {', '.join(failed)}")


if __name__ == "__main__":
    main()
