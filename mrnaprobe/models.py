"""Model catalog and adapters: one small class per kind of model.

The catalog (`config/models.yaml`) names every model the workflow knows; the config's
`models:` picks from it by name and may override any field. Resolution happens in plain
Python without importing torch or transformers, so that `snakemake -n` plans embed jobs
(with their GPU, memory and runtime) without loading anything.

An *adapter* loads one kind of model and turns a batch of token ids into per-token hidden
states. Everything else (alphabet, tokenising, chunking, batching, pooling, shards, OOM
back-off, progress) is the engine in `mrnaprobe.embed`, shared by every kind. Adding a model
of an existing kind is therefore a catalog entry; a new kind is one subclass of `Adapter`
registered with `@register("kind-name")`.
"""

from __future__ import annotations

import copy
import importlib
import inspect
import logging
from pathlib import Path
from typing import ClassVar

import numpy as np
import yaml

from mrnaprobe import MrnaProbeError
from mrnaprobe.compat import hub_model_class, hub_tokenizer_class, remote_code_compat

log = logging.getLogger(__name__)

#: Kinds computed from the sequence alone (no weights, no GPU, never sharded).
FEATURE_KINDS = ("kmer", "composition")
#: Kinds whose weights the workflow builds itself (rule random_model), so no `source`.
BUILT_KINDS = ("random-init",)

#: Defaults for every catalog or config entry (the schema documents them but sets none, so
#: that a config entry overriding a catalog entry does not reset its other fields).
MODEL_DEFAULTS = {
    "revision": "main",
    "alphabet": "dna",
    "trust_remote_code": False,
    "imports": [],
    "layer": -1,
    "max_tokens": 512,
    "token_budget": 16384,
    "cpu_token_budget": 2048,
    "pooling": "mean",
    "framing": "per_chunk",
    "pool_specials": False,
    "overlap_last_chunk": False,
    "dtype": "bfloat16",
    "fused": True,
    "gpus": 0,
    "mem_mb": 4000,
    "runtime": 60,
}
KIND_DEFAULTS = {
    "kmer": {"k": [3, 7]},
    "random-init": {"hidden_size": 64, "layers": 2, "heads": 2, "init_seed": 0},
}


# --------------------------------------------------------------------------- catalog


def load_catalog(path) -> dict[str, dict]:
    """The `models:` mapping of a catalog file (name -> entry)."""
    path = Path(path)
    if not path.is_file():
        raise MrnaProbeError(f"model catalog {path} not found")
    catalog = (yaml.safe_load(path.read_text()) or {}).get("models")
    if not isinstance(catalog, dict):
        raise MrnaProbeError(f"model catalog {path} has no `models:` mapping")
    return catalog


def resolve_models(models, catalog_path=None, schema_path=None) -> dict[str, dict]:
    """Full specs (defaults filled in) for the config's `models:`.

    `models` is a list of catalog names, or a mapping name -> entry where an entry is
    - null or {}: the catalog entry of that name;
    - without `kind`, or with `catalog: <name>`: that catalog entry with these fields
      overriding it;
    - with `kind` and no `catalog`: a self-contained model (the catalog is not read).
    Idempotent: resolving already-resolved specs returns equal specs. With `schema_path`
    (the workflow's config schema) every catalog entry used is checked against `$defs/model`.
    """
    catalog = None
    names = models if isinstance(models, list) else list(models)
    resolved = {}
    for name in names:
        entry = {} if isinstance(models, list) else dict(models[name] or {})
        if "kind" not in entry or "catalog" in entry:
            if catalog is None:
                if catalog_path is None:
                    raise MrnaProbeError(f"model {name} names no kind and there is no catalog")
                catalog = load_catalog(catalog_path)
                if schema_path is not None:
                    check_entries(catalog, schema_path, f"model catalog {catalog_path}")
            base = entry.pop("catalog", name)
            if base not in catalog:
                raise MrnaProbeError(
                    f"model {name}: {base!r} is not in the model catalog {catalog_path}"
                )
            entry = {**copy.deepcopy(catalog[base]), **entry}
        resolved[name] = complete_spec(name, entry)
    return resolved


def check_entries(entries: dict, schema_path, where: str) -> None:
    """Validate model entries against the schema's `$defs/model`; one-line error."""
    import jsonschema

    schema = yaml.safe_load(Path(schema_path).read_text())
    validator = jsonschema.Draft202012Validator({"$defs": schema["$defs"], "$ref": "#/$defs/model"})
    for name, entry in entries.items():
        error = jsonschema.exceptions.best_match(validator.iter_errors(entry))
        if error is not None:
            key = ".".join(str(part) for part in [name, *error.absolute_path])
            raise MrnaProbeError(f"{where}: {key}: {error.message}")


def complete_spec(name: str, entry: dict) -> dict:
    """Defaults filled in and the fields each kind needs checked (one-line errors)."""
    kind = entry.get("kind")
    if kind not in FEATURE_KINDS and kind not in ADAPTERS:
        known = ", ".join(sorted([*FEATURE_KINDS, *ADAPTERS]))
        raise MrnaProbeError(f"model {name}: kind {kind!r} is not one of {known}")
    spec = copy.deepcopy({**MODEL_DEFAULTS, **KIND_DEFAULTS.get(kind, {}), **entry})
    if kind not in FEATURE_KINDS + BUILT_KINDS and not spec.get("source"):
        raise MrnaProbeError(f"model {name}: kind {kind} needs `source` (hub id or folder)")
    if kind in FEATURE_KINDS:
        spec["shards"] = 1
    return spec


def shard_count(spec: dict, dataset: str, dataset_entry: dict | None = None) -> int:
    """Embed jobs for one model x dataset: the model's `shards` (a number, or its entry for
    this dataset when a mapping), else the dataset's own `shards`, else 1. Baselines: 1."""
    if spec["kind"] in FEATURE_KINDS:
        return 1
    shards = spec.get("shards")
    if isinstance(shards, dict):
        shards = shards.get(dataset)
    if shards is None:
        shards = (dataset_entry or {}).get("shards", 1)
    return max(1, int(shards))


#: Fields that cannot change an embedding: left out of the rules' params, so that tuning
#: them (e.g. memory for SLURM) does not make Snakemake recompute embeddings.
RESOURCE_FIELDS = ("gpus", "mem_mb", "runtime", "shards")
DOC_FIELDS = ("description", "optional", "requires", "tokenization", "params")
#: Fields that define a random-init model's weights (rule random_model).
BUILD_FIELDS = ("hidden_size", "layers", "heads", "max_tokens", "init_seed")


def run_spec(spec: dict) -> dict:
    """The spec an embed job needs (the `spec` param of the embed rules)."""
    return {k: v for k, v in spec.items() if k not in RESOURCE_FIELDS + DOC_FIELDS}


def build_spec(spec: dict) -> dict:
    """The fields that define a random-init model (the `spec` param of rule random_model)."""
    return {k: spec[k] for k in BUILD_FIELDS}


def needs_model_folder(spec: dict) -> bool:
    """Whether the embed job reads a model built by the workflow (random-init)."""
    return spec["kind"] in BUILT_KINDS


# --------------------------------------------------------------------------- adapters

ADAPTERS: dict[str, type[Adapter]] = {}


def register(*kinds: str):
    """Class decorator: make an adapter available under these `kind` names."""

    def wrap(cls):
        for kind in kinds:
            ADAPTERS[kind] = cls
        cls.kinds = kinds
        return cls

    return wrap


def load_adapter(spec: dict, source, cache_dir=None, device: str = "cpu") -> Adapter:
    """The adapter of the spec's kind, with its weights and tokenizer loaded on `device`."""
    for module in spec.get("imports", []):
        try:
            importlib.import_module(module)
        except ImportError as err:
            raise MrnaProbeError(
                f"kind {spec['kind']} model {source} needs the python package {module!r} "
                f"(pip install {spec.get('requires', module)})"
            ) from err
    return ADAPTERS[spec["kind"]](spec, str(source), cache_dir, device)


class Adapter:
    """Interface between the embedding engine and one kind of model.

    Subclasses set, in `__init__` (after loading weights and tokenizer):

    - `prefix`, `suffix`: token ids the model expects around every chunk (e.g. CLS ... EOS);
      they are fed to the model but left out of the mean;
    - `pad_id`: the id written into padded positions;
    - `exact_padding`: True when right-padding a chunk cannot change the hidden states of
      its real tokens (the model honours an attention mask, or it is causal); otherwise the
      engine only batches chunks of equal length;
    - `hidden_size`, `n_params`, `revision` (the commit actually loaded, for provenance);
    - `autocast` (default True): on GPU the engine runs `forward` under autocast to the
      entry's dtype; False when the adapter casts its own weights;
    - `fused` (default None): the fused forward in use (`mrnaprobe.fused`), if any;

    and implement

    - `tokenize(sequences) -> list[np.ndarray]`: token ids of each whole sequence, without
      special tokens (the engine cuts them into chunks of `max_tokens` minus the frame);
    - `forward(ids, mask) -> Tensor[batch, length, hidden]`: per-token hidden states of a
      right-padded batch (`ids`, `mask` are LongTensors on the adapter's device; `mask` is
      None when no chunk of the batch is padded, which lets SDPA pick its flash kernel).
    """

    kinds: ClassVar[tuple[str, ...]] = ()
    autocast: bool = True
    fused = None
    device: str
    prefix: list[int]
    suffix: list[int]
    pad_id: int
    exact_padding: bool
    hidden_size: int
    n_params: int
    revision: str | None

    def tokenize(self, sequences) -> list[np.ndarray]:
        raise NotImplementedError

    def forward(self, ids, mask):
        raise NotImplementedError


class HFAdapter(Adapter):
    """Models loaded with transformers' Auto classes (from the hub cache or a folder).

    Tokenising takes the fastest route that reproduces the model's own tokenizer on a
    sample of the data (`mrnaprobe.embed.fast_tokenizer`): a lookup table for
    single-nucleotide vocabularies, greedy k-mers for NT-style vocabularies, else the
    tokenizer itself on the whole list at once.
    """

    auto_class: ClassVar[str] = "AutoModel"
    causal: ClassVar[bool] = False
    use_mask: ClassVar[bool] = True

    def __init__(self, spec: dict, source: str, cache_dir=None, device: str = "cpu"):
        import transformers

        self.spec, self.device = spec, device
        kwargs = {
            "revision": spec.get("revision"),
            "trust_remote_code": spec.get("trust_remote_code", False),
            "cache_dir": cache_dir,
        }
        with remote_code_compat(kwargs["trust_remote_code"]):
            tokenizer_class = transformers.AutoTokenizer
            if kwargs["trust_remote_code"]:
                tokenizer_class = hub_tokenizer_class(tokenizer_class, source, kwargs)
            self.tokenizer = tokenizer_class.from_pretrained(source, **kwargs)
        auto = getattr(transformers, spec.get("auto_class", self.auto_class))
        model = load_strict(auto, source, kwargs).eval()
        for parameter in model.parameters():
            parameter.requires_grad_(False)
        # hidden_states[layer] unless the base model's last_hidden_state is what is asked
        self.layer = spec.get("layer", -1)
        base = spec.get("auto_class", self.auto_class) == "AutoModel" and self.layer == -1
        self.select_layer = None if base else self.layer
        parameters = inspect.signature(model.forward).parameters
        self.pass_mask = self.use_mask and "attention_mask" in parameters
        self.exact_padding = bool(self.pass_mask or spec.get("causal", self.causal))
        self.model, self.fused, self.autocast = place_model(model, spec, device, base)
        config = self.model.config
        self.hidden_size = getattr(config, "hidden_size", None) or getattr(config, "d_model", 0)
        self.n_params = sum(p.numel() for p in self.model.parameters())
        self.revision = loaded_revision(source, spec.get("revision"), cache_dir)
        self.prefix, self.suffix = special_frame(self.tokenizer)
        pads = (self.tokenizer.pad_token_id, self.tokenizer.eos_token_id, 0)
        self.pad_id = next(i for i in pads if i is not None)

    def tokenize(self, sequences) -> list[np.ndarray]:
        from mrnaprobe.embed import fast_tokenizer

        if getattr(self.tokenizer, "codon", False):
            return codon_tokens(self.tokenizer, sequences)
        return fast_tokenizer(self.tokenizer, sequences)(sequences)

    def forward(self, ids, mask):
        if self.fused is not None:
            return self.fused(ids, mask)
        kwargs = {"input_ids": ids}
        if self.pass_mask:  # always: some models' code needs it (UTR-LM's token dropout)
            kwargs["attention_mask"] = mask if mask is not None else ids.new_ones(ids.shape)
        if self.select_layer is not None:
            kwargs["output_hidden_states"] = True
        return last_hidden(self.model(**kwargs), self.select_layer)


@register("encoder", "hf", "random-init")
class EncoderAdapter(HFAdapter):
    """Bidirectional (masked-LM) encoders: BERT, ESM, NT, DNABERT-2, RNA-FM, RiNALMo, ...

    `AutoModel` (`last_hidden_state`) unless the entry names another `auto_class` (NT-v2
    ships only `AutoModelForMaskedLM`: then `hidden_states[layer]`). The attention mask makes
    padded batches exact. `random-init` is this adapter on the untrained encoder the
    workflow builds (`build_random_encoder`).
    """


@register("causal-lm")
class CausalLMAdapter(HFAdapter):
    """Autoregressive language models (GPT-2/Llama-style, GENERator, ...): `hidden_states[layer]`
    of `AutoModelForCausalLM`. Causal attention makes right padding exact."""

    auto_class = "AutoModelForCausalLM"
    causal = True


@register("ssm")
class SSMAdapter(HFAdapter):
    """State-space / long-convolution models (HyenaDNA, Caduceus, Mamba): no attention mask
    is passed. Padding is exact only for causal models (`causal: true` in the entry, e.g.
    HyenaDNA); otherwise (Caduceus is bidirectional) only equal-length chunks share a batch."""

    use_mask = False


@register("orthrus")
class OrthrusAdapter(Adapter):
    """Orthrus (Mamba, contrastive mRNA model): one-hot A/C/G/T tracks in, per-nucleotide
    hidden states out (`model(x, channel_last=True)`); N is an all-zero column. 6-track
    checkpoints (`n_tracks: 6`, entry `tracks: [cds, splice]`) read the dataset's CDS and
    splice tracks as channels 5 and 6, as mRNABench's wrapper stacks them. Token ids carry
    base and tracks (base + 5 * cds + 10 * splice), so the engine chunks them as any tokens.
    Needs the `mamba-ssm` CUDA kernels."""

    def __init__(self, spec: dict, source: str, cache_dir=None, device: str = "cpu"):
        from transformers import AutoModel

        self.device = device
        kwargs = {
            "revision": spec.get("revision"),
            "trust_remote_code": spec.get("trust_remote_code", False),  # the catalog opts in
            "cache_dir": cache_dir,
        }
        self.model = load_strict(AutoModel, source, kwargs).to(device).eval()
        self.tracks = list(spec.get("tracks") or [])
        n_tracks = getattr(self.model.config, "n_tracks", 4)
        if self.tracks not in ([], ["cds", "splice"]) or n_tracks != 4 + len(self.tracks):
            raise MrnaProbeError(
                f"model {source}: a {n_tracks}-track checkpoint; its entry's tracks "
                f"{self.tracks} give {4 + len(self.tracks)} (6-track: tracks: [cds, splice])"
            )
        self.prefix, self.suffix, self.pad_id = [], [], 4
        self.exact_padding = bool(spec.get("causal", False))
        self.hidden_size = 0  # taken from the first batch
        self.n_params = sum(p.numel() for p in self.model.parameters())
        self.revision = loaded_revision(source, spec.get("revision"), cache_dir)

    def tokenize(self, sequences, tracks=None) -> list[np.ndarray]:
        from mrnaprobe.embed import NUCLEOTIDE_CODE

        table = NUCLEOTIDE_CODE.astype(np.int64)
        table[table < 0] = 4
        table[ord("U")] = 3
        ids = [table[np.frombuffer(s.encode("ascii"), np.uint8)] for s in sequences]
        if not self.tracks:
            return ids
        missing = [name for name in self.tracks if name not in (tracks or {})]
        if missing:
            raise MrnaProbeError(f"a 6-track Orthrus model needs the dataset's {missing} tracks")
        return [i + 5 * np.asarray(c, np.int64) + 10 * np.asarray(s, np.int64)
                for i, c, s in zip(ids, tracks["cds"], tracks["splice"], strict=True)]  # fmt: skip

    def forward(self, ids, mask):
        import torch

        channels = [torch.nn.functional.one_hot(ids % 5, 5)[..., :4]]
        if self.tracks:  # CDS and splice channels, as mRNABench stacks them
            channels += [(ids // 5 % 2)[..., None], (ids // 10)[..., None]]
        return self.model(torch.cat(channels, dim=-1).float(), channel_last=True)


@register("evo1")
class Evo1Adapter(Adapter):
    """Evo 1 / 1.5 (StripedHyena, causal) through the `evo` package, as mRNABench loads it:
    `Evo(<version>)` (the hub id's last part), byte-level tokens, the final hidden states
    (the unembedding replaced by the identity). Optional: needs a GPU (flash-attn)."""

    def __init__(self, spec: dict, source: str, cache_dir=None, device: str = "cpu"):
        import torch

        try:
            from evo import Evo
        except ImportError as err:
            raise MrnaProbeError("kind evo1 needs `evo` (pip install evo-model)") from err

        class Identity(torch.nn.Module):
            def unembed(self, u):
                return u

        self.device = device
        evo = Evo(source.rsplit("/", 1)[-1])
        self.model, self.tokenizer = evo.model.to(device).eval(), evo.tokenizer
        self.model.unembed = Identity()
        self.prefix, self.suffix, self.pad_id = [], [], 1
        self.exact_padding = True  # causal
        self.hidden_size = 0
        self.n_params = sum(p.numel() for p in self.model.parameters())
        self.revision = spec.get("revision")

    def tokenize(self, sequences) -> list[np.ndarray]:
        return [np.asarray(self.tokenizer.tokenize(s), dtype=np.int64) for s in sequences]

    def forward(self, ids, mask):
        return self.model(ids)[0]


@register("evo2")
class Evo2Adapter(Adapter):
    """Evo 2 (StripedHyena 2, causal) through the `evo2` package: byte-level tokens,
    embeddings of the block named by `layer`, or of each block of a list, concatenated in
    its order (mRNABench: `[blocks.16.pre_norm, norm]`, the middle block and the final norm
    of evo2_7b; the mean of a concatenation is the concatenation of the means). Optional:
    needs a GPU with the package's kernels (Hopper for FP8 on 40b)."""

    def __init__(self, spec: dict, source: str, cache_dir=None, device: str = "cpu"):
        try:
            from evo2 import Evo2
        except ImportError as err:
            raise MrnaProbeError("kind evo2 needs the `evo2` package (pip install evo2)") from err
        self.device = device
        self.model = Evo2(source.rsplit("/", 1)[-1])
        layer = spec.get("layer")
        self.layers = [layer] if isinstance(layer, str) else list(layer) if isinstance(
            layer, list) else ["norm"]  # fmt: skip
        self.prefix, self.suffix, self.pad_id = [], [], 1
        self.exact_padding = True  # causal
        self.hidden_size = 0
        self.n_params = sum(p.numel() for p in self.model.model.parameters())
        self.revision = spec.get("revision")

    def tokenize(self, sequences) -> list[np.ndarray]:
        return [np.asarray(self.model.tokenizer.tokenize(s), dtype=np.int64) for s in sequences]

    def forward(self, ids, mask):
        import torch

        _, embeddings = self.model(ids, return_embeddings=True, layer_names=self.layers)
        return torch.cat([embeddings[name] for name in self.layers], dim=-1)


# --------------------------------------------------------------------------- helpers

#: Modules that never feed the hidden states the engine pools (a base model's pooler, a
#: masked-LM head): missing weights there are fine.
UNUSED_MODULES = ("pooler.", "lm_head.")


def load_strict(auto, source: str, kwargs: dict):
    """`auto.from_pretrained(source, **kwargs)` that stops unless every weight the model
    computes with came from the checkpoint: missing keys (outside UNUSED_MODULES), shape
    mismatches, or checkpoint keys inside the model's own modules that nothing took (a
    renamed or extra layer) end in one line naming hub id, revision and the first keys.
    Checkpoint heads that the loaded class lacks (lm_head, ...) are only logged."""
    remote = kwargs.get("trust_remote_code", False)
    with remote_code_compat(remote):
        model_class, config = hub_model_class(auto, source, kwargs) if remote else (auto, None)
        extra = {} if config is None else {"config": config}
        model, report = model_class.from_pretrained(source, output_loading_info=True,
                                                    **kwargs, **extra)  # fmt: skip
    own = {name for name, _ in model.named_children()}
    missing = [k for k in report.get("missing_keys", ()) if not k.startswith(UNUSED_MODULES)]
    mismatched = [str(k[0] if isinstance(k, tuple | list) else k)
                  for k in report.get("mismatched_keys", ())]  # fmt: skip
    unexpected = sorted(report.get("unexpected_keys", ()))
    stray = [k for k in unexpected if k.split(".", 1)[0] in own]
    log.info(
        "loaded %s (revision %s) as %s: %d tensors; missing %s; unexpected (unused) %s; "
        "shape mismatches %s", source, kwargs.get("revision"), type(model).__name__,
        len(model.state_dict()), sorted(report.get("missing_keys", ())) or "none",
        unexpected or "none", mismatched or "none",
    )  # fmt: skip
    problems = [(what, keys) for what, keys in [("missing", sorted(missing)),
                ("shape mismatch", mismatched), ("unexpected", stray)] if keys]  # fmt: skip
    if problems or report.get("error_msgs"):
        said = "; ".join(f"{what} {', '.join(keys[:3])}" + (f" (+{len(keys) - 3} more)"
                         if len(keys) > 3 else "") for what, keys in problems)  # fmt: skip
        said = said or str(report["error_msgs"][0]).splitlines()[0]
        revision = loaded_revision(source, kwargs.get("revision"), kwargs.get("cache_dir"))
        raise MrnaProbeError(
            f"model {source} (revision {revision}): weights do not all load into "
            f"{type(model).__name__}: {said}"
        )
    return model


def loaded_revision(source: str, revision: str | None, cache_dir=None) -> str | None:
    """The commit sha of the hub snapshot that `revision` of `source` resolves to (its
    snapshots/<sha> folder); `revision` itself for a local folder."""
    from transformers.utils.hub import cached_file, extract_commit_hash

    if Path(source).is_dir():
        return revision
    try:
        resolved = cached_file(source, "config.json", revision=revision, cache_dir=cache_dir)
    except OSError:
        resolved = None
    return extract_commit_hash(resolved, None) if resolved else revision


def codon_tokens(tokenizer, sequences) -> list[np.ndarray]:
    """Token ids of a codon tokenizer (mRNA-FM), which takes whole codons only: each
    sequence's last len % 3 nucleotides are left out (counted in the log)."""
    whole = [s[: len(s) - len(s) % 3] for s in sequences]
    cut = sum(len(s) - len(w) for s, w in zip(sequences, whole, strict=True))
    log.info("codon tokens: %d trailing nucleotides of %d sequences left out (not a whole "
             "codon)", cut, sum(len(s) % 3 > 0 for s in sequences))  # fmt: skip
    ids = []
    for start in range(0, len(whole), 1024):
        batch = tokenizer(whole[start : start + 1024], add_special_tokens=False)["input_ids"]
        ids.extend(np.asarray(i, dtype=np.int64) for i in batch)
    return ids


def compute_dtype(spec: dict, device: str):
    """The torch dtype a model computes in: the entry's `dtype` on GPU, fp32 on CPU."""
    import torch

    cuda = str(device).startswith("cuda")
    return getattr(torch, spec.get("dtype", "bfloat16")) if cuda else torch.float32


def place_model(model, spec: dict, device: str, base: bool):
    """(model, fused forward or None, autocast?) as the engine runs them: the fused ESM
    forward where it applies to the base model's last hidden state (its weights copied to
    the device in the compute dtype; the model itself stays on the CPU), else the model on
    the device (`cast_for_gpu`)."""
    from mrnaprobe import fused

    if spec.get("fused", True) and base and fused.supports(model):
        return model, fused.FusedEsm(model, device, compute_dtype(spec, device)), False
    model = model.to(device)
    if device.startswith("cuda"):
        model = cast_for_gpu(model, spec)
    return model, None, not spec.get("cast_weights", False)


def cast_for_gpu(model, spec: dict):
    """The model as it runs on a GPU: fp32 weights that the engine runs under autocast, or
    with `cast_weights: true` parameters cast once to `dtype` and no autocast (buffers
    such as rotary frequencies stay fp32, so the model's code must cast them itself)."""
    if spec.get("cast_weights", False):
        dtype = compute_dtype(spec, "cuda")
        for parameter in model.parameters():
            parameter.data = parameter.data.to(dtype)
    return model


def special_frame(tokenizer) -> tuple[list[int], list[int]]:
    """Token ids the tokenizer adds before and after a sequence (e.g. [CLS], [SEP])."""
    probe = "ACGTACGTACGT"  # whole codons and 6-mers: codon and k-mer tokenizers take it
    bare = tokenizer(probe, add_special_tokens=False)["input_ids"]
    full = tokenizer(probe, add_special_tokens=True)["input_ids"]
    for start in range(len(full) - len(bare) + 1):
        if full[start : start + len(bare)] == bare:
            return list(full[:start]), list(full[start + len(bare) :])
    raise MrnaProbeError("cannot tell the tokenizer's special tokens from the sequence's")


def last_hidden(output, layer: int | None):
    """Per-token hidden states from a model output: `hidden_states[layer]` when a layer is
    given, else `last_hidden_state`, else the first tensor of a tuple output."""
    if layer is not None:
        states = getattr(output, "hidden_states", None)
        if states is None and isinstance(output, tuple | list):
            states = next(o for o in output if isinstance(o, tuple | list))
        return states[layer]
    if hasattr(output, "last_hidden_state"):
        return output.last_hidden_state
    if isinstance(output, tuple | list):
        return output[0]
    return output
