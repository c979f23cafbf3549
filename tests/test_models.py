"""Model catalog, config resolution, one tiny random-init model per adapter kind, and the
embed rules (offline dry-run with hub models; sharded run equals unsharded run)."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from mrnaprobe import MrnaProbeError
from mrnaprobe.embed import embed_hf, embed_sequences, fast_tokenizer
from mrnaprobe.models import (
    ADAPTERS,
    FEATURE_KINDS,
    complete_spec,
    load_catalog,
    resolve_models,
    run_spec,
    shard_count,
)
from tests.conftest import MIRROR, ROOT
from tests.helpers import cosine, random_sequences

CATALOG = ROOT / "config" / "models.yaml"
SCHEMA = ROOT / "workflow" / "schemas" / "config.schema.yaml"
FAMILIES = {"nucleotide-transformer", "dnabert2", "dnabert-s", "hyenadna", "caduceus", "rna-fm",
            "rinalmo", "utr-lm", "splicebert", "ernie-rna", "rna-msm", "3utrbert", "orthrus",
            "evo2", "baseline", "random-init", "rnabert", "rnaernie", "omnigenome",
            "plant-rnafm", "codonbert", "evo1"}  # fmt: skip


# --------------------------------------------------------------------------- catalog


def test_catalog_covers_the_families_with_pinned_sources_and_resources():
    catalog = load_catalog(CATALOG)
    specs = resolve_models(list(catalog), CATALOG, SCHEMA)
    assert {spec["family"] for spec in specs.values()} == FAMILIES
    for name, spec in specs.items():
        assert spec["kind"] in FEATURE_KINDS or spec["kind"] in ADAPTERS, name
        if spec["kind"] in FEATURE_KINDS or spec["kind"] == "random-init":
            assert spec["gpus"] == 0, name
            continue
        assert "/" in spec["source"] and spec["revision"], name
        assert spec["gpus"] >= 1 and spec["mem_mb"] >= 16000 and spec["runtime"] >= 60, name
        assert spec["tokenization"] in {"nucleotide", "kmer", "bpe", "codon", "onehot"}, name
        context = spec["max_tokens"]  # None: the whole sequence in one chunk
        assert context is None or spec["token_budget"] >= context or context > 65536, name
    rna = {n for n, s in specs.items() if s["alphabet"] == "rna"}
    assert {"rna-fm", "rinalmo-giga", "utrbert-3mer", "splicebert"} <= rna
    assert not specs["nt-500m-human-ref"]["trust_remote_code"]
    assert specs["dnabert2"]["trust_remote_code"] and specs["evo2-7b"]["optional"]


def test_models_resolve_by_name_override_and_alias():
    specs = resolve_models(
        {
            "nt-v2-100m": None,
            "rna-fm": {"token_budget": 4096, "shards": {"big": 4}},
            "nt-short": {"catalog": "nt-v2-100m", "max_tokens": 512},
            "mine": {"kind": "encoder", "source": "/models/mine"},
        },
        CATALOG,
    )
    assert specs["nt-v2-100m"]["max_tokens"] == 2048 and specs["nt-v2-100m"]["gpus"] == 1
    assert specs["rna-fm"]["token_budget"] == 4096 and specs["rna-fm"]["alphabet"] == "rna"
    assert specs["nt-short"]["max_tokens"] == 512
    assert specs["nt-short"]["source"] == specs["nt-v2-100m"]["source"]
    assert specs["mine"]["gpus"] == 0 and specs["mine"]["max_tokens"] == 512  # no catalog
    assert resolve_models(specs, CATALOG) == specs  # idempotent
    assert shard_count(specs["rna-fm"], "big") == 4 and shard_count(specs["rna-fm"], "x") == 1
    assert shard_count(specs["nt-v2-100m"], "x", {"shards": 3}) == 3  # the dataset's
    assert shard_count({**specs["nt-v2-100m"], "shards": 1}, "x", {"shards": 3}) == 1
    assert shard_count(specs["rna-fm"], "x", {"shards": 3}) == 3
    assert "gpus" not in run_spec(specs["rna-fm"]) and "token_budget" in run_spec(specs["rna-fm"])
    listed = resolve_models(["kmer-naive", "composition"], CATALOG)
    assert listed["kmer-naive"]["k"] == [3, 7] and listed["composition"]["shards"] == 1


@pytest.mark.bad_input
def test_bad_input_unknown_model_names_are_one_line_errors(tmp_path):
    with pytest.raises(MrnaProbeError, match="'nt-v9' is not in the model catalog"):
        resolve_models(["nt-v9"], CATALOG)
    with pytest.raises(MrnaProbeError, match="kind 'bert'"):
        complete_spec("x", {"kind": "bert", "source": "a/b"})
    with pytest.raises(MrnaProbeError, match="needs `source`"):
        complete_spec("x", {"kind": "causal-lm"})
    bad = tmp_path / "models.yaml"
    bad.write_text("models:\n  x: {kind: encoder, source: a/b, max_tokns: 5}\n")
    with pytest.raises(MrnaProbeError, match="x: Additional properties"):
        resolve_models(["x"], bad, SCHEMA)


# --------------------------------------------------------------------------- adapters


def char_tokenizer(path, bos=True):
    """A Rust (tokenizers) single-nucleotide tokenizer; BOS before each sequence if asked."""
    from tokenizers import Regex, Tokenizer, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    vocab = {c: i for i, c in enumerate(["<pad>", "<s>", "</s>", "<unk>", *"ACGTN"])}
    tokenizer = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tokenizer.pre_tokenizer = pre_tokenizers.Split(Regex("."), behavior="isolated")
    if bos:
        tokenizer.post_processor = processors.TemplateProcessing(
            single="<s> $A", special_tokens=[("<s>", 1)]
        )
    PreTrainedTokenizerFast(tokenizer_object=tokenizer, bos_token="<s>", eos_token="</s>",
                            unk_token="<unk>").save_pretrained(path)  # fmt: skip
    return len(vocab)


def bpe_tokenizer(path):
    """A BPE tokenizer trained on random DNA, framed [CLS] ... [SEP] (DNABERT-2-like)."""
    from tokenizers import Tokenizer, models, processors, trainers
    from transformers import PreTrainedTokenizerFast

    special = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    tokenizer = Tokenizer(models.BPE(unk_token="[UNK]"))
    trainer = trainers.BpeTrainer(vocab_size=60, special_tokens=special,
                                  initial_alphabet=list("ACGTN"))  # fmt: skip
    tokenizer.train_from_iterator(random_sequences([200] * 50, seed=9), trainer)
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", 2), ("[SEP]", 3)]
    )
    PreTrainedTokenizerFast(tokenizer_object=tokenizer, unk_token="[UNK]", pad_token="[PAD]",
                            cls_token="[CLS]", sep_token="[SEP]",
                            mask_token="[MASK]").save_pretrained(path)  # fmt: skip
    return tokenizer.get_vocab_size()


@pytest.fixture(scope="module")
def tiny_models(tmp_path_factory):
    """One tiny random-init model per adapter kind, saved with save_pretrained."""
    import torch
    from transformers import (
        BertConfig,
        BertModel,
        LlamaConfig,
        LlamaForCausalLM,
        MambaConfig,
        MambaModel,
    )

    root = tmp_path_factory.mktemp("kinds")
    torch.manual_seed(0)
    vocab = bpe_tokenizer(root / "bert")
    BertModel(BertConfig(vocab_size=vocab, hidden_size=16, num_hidden_layers=2,
                         num_attention_heads=2, intermediate_size=32,
                         max_position_embeddings=64)).save_pretrained(root / "bert")  # fmt: skip
    vocab = char_tokenizer(root / "llama")
    llama = LlamaConfig(vocab_size=vocab, hidden_size=16, intermediate_size=32,
                        num_hidden_layers=2, num_attention_heads=2, num_key_value_heads=2,
                        max_position_embeddings=64, bos_token_id=1, eos_token_id=2)  # fmt: skip
    LlamaForCausalLM(llama).save_pretrained(root / "llama")
    vocab = char_tokenizer(root / "mamba", bos=False)
    MambaModel(MambaConfig(vocab_size=vocab, hidden_size=16, num_hidden_layers=2, state_size=4,
                           expand=2, conv_kernel=4)).save_pretrained(root / "mamba")  # fmt: skip
    return {
        "encoder": (root / "bert", {"kind": "encoder", "max_tokens": 24}),
        "causal-lm": (root / "llama", {"kind": "causal-lm", "max_tokens": 32}),
        "ssm": (root / "mamba", {"kind": "ssm", "max_tokens": 40}),
    }


@pytest.mark.parametrize("kind", ["encoder", "causal-lm", "ssm"])
def test_each_kind_embeds_batched_as_one_at_a_time(tiny_models, kind):
    path, entry = tiny_models[kind]
    spec = complete_spec(kind, {**entry, "source": str(path), "token_budget": 256})
    sequences = random_sequences((10, 95, 40, 130, 3, 40), alphabet="ACGTN")
    batched, info = embed_sequences(sequences, spec, path, progress=False)
    single = np.vstack([embed_hf([s], {**spec, "token_budget": 8}, path) for s in sequences])
    assert batched.shape == (6, 16) and np.isfinite(batched).all()
    assert cosine(batched, single).min() >= 0.9999
    assert info["chunks"] > len(sequences) and info["params"] > 0


def test_adapters_frame_pad_and_batch_by_kind(tiny_models):
    from mrnaprobe.models import load_adapter

    adapters = {
        kind: load_adapter(complete_spec(kind, {**entry, "source": str(path)}), path)
        for kind, (path, entry) in tiny_models.items()
    }
    assert adapters["encoder"].prefix == [2] and adapters["encoder"].suffix == [3]
    assert adapters["causal-lm"].prefix == [1] and adapters["causal-lm"].suffix == []
    assert adapters["ssm"].prefix == [] and not adapters["ssm"].pass_mask
    assert adapters["encoder"].exact_padding and adapters["causal-lm"].exact_padding
    assert not adapters["ssm"].exact_padding  # only equal-length chunks share a batch
    sequences = random_sequences([30, 31, 30], alphabet="ACGTN")
    assert type(fast_tokenizer(adapters["encoder"].tokenizer, sequences)).__name__ == (
        "_BatchTokenizer"  # BPE: the Rust tokenizer on lists
    )
    assert type(fast_tokenizer(adapters["ssm"].tokenizer, sequences)).__name__ == "_TableTokenizer"


def test_cast_weights_casts_parameters_once_and_keeps_fp32_buffers(tmp_path):
    import torch
    from transformers import AutoModel

    from mrnaprobe.embed import build_random_encoder
    from mrnaprobe.models import cast_for_gpu

    spec = complete_spec("esm", {"kind": "random-init", "max_tokens": 64, "dtype": "bfloat16"})
    build_random_encoder(tmp_path, spec)
    model = AutoModel.from_pretrained(tmp_path).eval()
    ids = torch.randint(4, 8, (3, 40))
    with torch.inference_mode():
        reference = model(input_ids=ids).last_hidden_state.mean(1)
        assert cast_for_gpu(model, spec) is model  # default: fp32 weights, autocast
        assert all(p.dtype == torch.float32 for p in model.parameters())
        cast = cast_for_gpu(model, {**spec, "cast_weights": True})
        assert all(p.dtype == torch.bfloat16 for p in cast.parameters())
        assert all(b.dtype == torch.float32 for b in cast.buffers() if b.is_floating_point())
        pooled = cast(input_ids=ids).last_hidden_state.float().mean(1)  # no mixed dtypes
    assert cosine(pooled.numpy(), reference.numpy()).min() >= 0.999


def test_causal_ssm_may_mix_lengths(tiny_models):
    path, entry = tiny_models["ssm"]
    spec = complete_spec("ssm", {**entry, "source": str(path), "causal": True})
    sequences = random_sequences((12, 33, 7))
    mixed = embed_hf(sequences, spec, path)
    single = np.vstack([embed_hf([s], spec, path) for s in sequences])
    assert cosine(mixed, single).min() >= 0.9999


def test_nt_style_kmer_vocabulary_gets_the_greedy_kmer_path(tmp_path):
    import itertools

    from transformers import EsmTokenizer

    kmers = ["".join(p) for p in itertools.product("ACGT", repeat=3)]
    vocab = tmp_path / "vocab.txt"
    vocab.write_text("\n".join(["<unk>", "<pad>", "<mask>", "<cls>", "<eos>", *kmers, *"ACGTN"]))
    tokenizer = EsmTokenizer(str(vocab))
    sequences = random_sequences(np.arange(1, 90, 7), seed=4, alphabet="ACGTTGCAN")
    fast = fast_tokenizer(tokenizer, sequences)
    assert type(fast).__name__ == "_GreedyKmerTokenizer"
    for got, sequence in zip(fast(sequences), sequences, strict=True):
        assert got.tolist() == tokenizer(sequence, add_special_tokens=False)["input_ids"]


# --------------------------------------------------------------------------- workflow

# Snakemake with torch and transformers made unimportable: parsing and planning must not
# load (or even import) anything model-related, let alone reach the hub.
OFFLINE_SNAKEMAKE = [
    sys.executable, "-c",
    "import sys; sys.modules.update(torch=None, transformers=None); "
    "from snakemake.cli import main; sys.argv[0] = 'snakemake'; main()",
    "--snakefile", str(ROOT / "Snakefile"),
]  # fmt: skip


def workflow_config(path: Path, models) -> Path:
    small = yaml.safe_load((ROOT / "tests" / "configs" / "small.yaml").read_text())
    config = {**small, "datasets": {"mrl-hl-leppek": small["datasets"]["mrl-hl-leppek"]}}
    path.write_text(yaml.safe_dump({**config, "models": models}))
    return path


def test_dry_run_plans_hub_models_with_gpu_resources_offline(tmp_path):
    models = {"kmer-naive": None, "composition": None, "nt-v2-100m": {"shards": 2},
              "dnabert2": {}, "rna-fm": {"mem_mb": 20000}, "hyenadna-tiny-1k": None}  # fmt: skip
    config = workflow_config(tmp_path / "hub.yaml", models)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf")}
    done = subprocess.run(
        [*OFFLINE_SNAKEMAKE, "-n", "--directory", str(tmp_path), "--configfile", str(config),
         "--config", f"mirror={MIRROR}", "--forceall"],
        cwd=tmp_path, capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:] + done.stdout[-3000:]
    plan = {line.split()[0]: int(line.split()[1]) for line in done.stdout.splitlines()
            if len(line.split()) == 2 and line.split()[1].isdigit()}  # fmt: skip
    assert plan["embed_shard"] == 2 and plan["merge_shards"] == 1
    assert plan["embed"] == 3 and plan["embed_cpu"] == 2
    assert "random_model" not in plan
    jobs = done.stdout.split("\n\n")
    shard = next(j for j in jobs if "rule embed_shard:" in j)
    assert "gpu=1" in shard and "mem_mb=32000" in shard and "runtime=120" in shard
    rna = next(j for j in jobs if "rule embed:" in j and "/rna-fm/" in j)
    assert "gpu=1" in rna and "mem_mb=20000" in rna
    merge = next(j for j in jobs if "rule merge_shards:" in j)
    assert "gpu=0" in merge and "shards/mrl-hl-leppek/1-of-2.npz" in merge  # a CPU job
    kmer = next(j for j in jobs if "rule embed_cpu:" in j and "/kmer-naive/" in j)
    assert "gpu=0" in kmer
    assert not (tmp_path / "hf").exists()


@pytest.mark.slow
def test_sharded_workflow_equals_unsharded_and_reruns_only_missing_shards(tmp_path):
    tiny = {"catalog": "esm-random-tiny", "hidden_size": 16, "layers": 1, "heads": 2,
            "max_tokens": 64, "token_budget": 1024}  # fmt: skip
    config = workflow_config(
        tmp_path / "shards.yaml", {"whole": tiny, "sharded": {**tiny, "shards": 3}}
    )
    targets = [f"results/embeddings/{m}/mrl-hl-leppek.npy" for m in ("whole", "sharded")]

    def snakemake(*args):
        done = subprocess.run(
            [*OFFLINE_SNAKEMAKE, "--directory", str(tmp_path), "--configfile", str(config),
             "--config", f"mirror={MIRROR}", "--cores", "2", *args],
            cwd=tmp_path, capture_output=True, text=True, timeout=600,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr[-3000:]
        return done.stdout + done.stderr

    snakemake(*targets)
    whole, sharded = (np.load(tmp_path / t) for t in targets)
    assert whole.shape == (233, 16) and sharded.tobytes() == whole.tobytes()
    shard_dir = tmp_path / "results/embeddings/sharded/shards/mrl-hl-leppek"
    assert sorted(p.name for p in shard_dir.iterdir()) == [f"{i}-of-3.npz" for i in range(3)]

    (shard_dir / "1-of-3.npz").unlink()  # as if that job had been killed
    (tmp_path / targets[1]).unlink()
    out = snakemake(targets[1], "-n")
    shard_outputs = [line.split()[1] for line in out.splitlines() if "output:" in line
                     and "/shards/" in line]  # fmt: skip
    assert shard_outputs == ["results/embeddings/sharded/shards/mrl-hl-leppek/1-of-3.npz"]
    snakemake(targets[1])
    assert np.load(tmp_path / targets[1]).tobytes() == whole.tobytes()
