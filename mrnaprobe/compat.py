"""Shims that let hub repositories' remote code, written for transformers 4, load on
transformers 5. Applied only when a model with `trust_remote_code` loads
(`remote_code_compat()`); each shim only adds what transformers 5 removed and names that
change, so native models are untouched.

Each shim, the transformers 5 change it bridges, and who needs it:

- `modeling_utils.find_pruneable_heads_and_indices` (head pruning helpers removed), and
  `prune_linear_layer`, `apply_chunking_to_forward` (moved to `pytorch_utils`): NT v2.
- `PretrainedConfig.is_decoder`, `add_cross_attention` (False), `pad_token_id`,
  `bos_token_id`, `eos_token_id` (None): encoder-decoder flags and token ids dropped from
  the base config. NT v2; DNABERT-2 (`pad_token_id`).
- `PreTrainedModel.get_extended_attention_mask`, `invert_attention_mask`, `get_head_mask`:
  the attention-mask helpers of `ModuleUtilsMixin` removed. NT v2.
- `init_weights()` called where 5 needs `post_init()`, or `post_init()` never called:
  `post_init()` now sets `all_tied_weights_keys`, which `init_weights()` and
  `from_pretrained` read. NT v2 (calls `init_weights()`); Caduceus (no `post_init()`).
- parameters the remote code shares between two names (`self.b.weight = self.a.weight`)
  are declared in `all_tied_weights_keys`: 5 loads each name into its own tensor and
  reports the second as missing (random), 4 kept the sharing. Caduceus (reverse Mamba's
  in/out projections tied to the forward one's).
- a remote class's own `tie_weights(self)` called without arguments: 5 calls
  `tie_weights(recompute_mapping=...)`. Caduceus (CaduceusForMaskedLM).
- remote classes built on the CPU, not on the meta device: `from_pretrained` builds every
  model under `torch.device("meta")`, so tensors that `__init__` keeps as plain attributes
  stay meta. DNABERT-2 (its ALiBi table).
"""

from __future__ import annotations

import functools
import inspect
from contextlib import contextmanager
from pathlib import Path

_APPLIED = False
#: transformers 4's base-config defaults that remote code reads and 5 no longer sets.
LEGACY_CONFIG = {"is_decoder": False, "add_cross_attention": False, "pad_token_id": None,
                 "bos_token_id": None, "eos_token_id": None}  # fmt: skip


def find_pruneable_heads_and_indices(heads, n_heads: int, head_size: int, already_pruned_heads):
    """transformers 4's helper: the heads left to prune and the flat indices kept."""
    import torch

    mask = torch.ones(n_heads, head_size)
    heads = set(heads) - already_pruned_heads
    for head in heads:
        head = head - sum(1 if h < head else 0 for h in already_pruned_heads)
        mask[head] = 0
    mask = mask.view(-1).contiguous().eq(1)
    index = torch.arange(len(mask))[mask].long()
    return heads, index


def get_extended_attention_mask(self, attention_mask, input_shape=None, device=None, dtype=None):
    """transformers 4's additive mask [batch, 1, 1, keys] (0 kept, dtype-min masked)."""
    import torch

    dtype = dtype or self.dtype
    if attention_mask.dim() == 3:
        extended = attention_mask[:, None, :, :]
    elif attention_mask.dim() == 2:
        extended = attention_mask[:, None, None, :]
    else:
        raise ValueError(f"wrong shape for attention_mask (shape {attention_mask.shape})")
    extended = extended.to(dtype=dtype)
    return (1.0 - extended) * torch.finfo(dtype).min


def invert_attention_mask(self, encoder_attention_mask):
    """transformers 4's encoder mask, inverted to an additive mask."""
    return get_extended_attention_mask(self, encoder_attention_mask)


def get_head_mask(self, head_mask, num_hidden_layers: int, is_attention_chunked=False):
    """transformers 4's per-layer head mask: None per layer when no mask is given."""
    if head_mask is None:
        return [None] * num_hidden_layers
    if head_mask.dim() == 1:
        head_mask = head_mask[None, None, :, None, None].expand(num_hidden_layers, -1, -1, -1, -1)
    elif head_mask.dim() == 2:
        head_mask = head_mask[:, None, :, None, None]
    return head_mask.to(dtype=self.dtype)


def code_ties(model) -> dict[str, str]:
    """{target: source} for parameters the model's code shares between two names (e.g.
    `self.b.weight = self.a.weight`), which transformers 5 unties on loading unless they
    are in `all_tied_weights_keys`."""
    first, ties = {}, {}
    for name, parameter in model.named_parameters(remove_duplicate=False):
        if id(parameter) in first and name not in model.all_tied_weights_keys:
            ties[name] = first[id(parameter)]
        first.setdefault(id(parameter), name)
    return ties


def _patch_remote_class(cls):
    """A remote model class as transformers 4 built it: its __init__ runs post_init() at
    the end when it never did (the most-derived class only), its own tie_weights() takes
    (and ignores) 5's arguments, and from_pretrained builds it on the CPU rather than on the
    meta device (tensors made in __init__ stay real)."""
    import torch

    original = cls.__init__

    @functools.wraps(original)
    def __init__(self, *args, **kwargs):
        original(self, *args, **kwargs)
        if type(self) is cls:
            if "all_tied_weights_keys" not in self.__dict__:
                self.post_init()
            self.all_tied_weights_keys.update(code_ties(self))

    cls.__init__ = __init__
    own_tie = cls.__dict__.get("tie_weights")
    if own_tie is not None and "kwargs" not in inspect.signature(own_tie).parameters:
        from transformers import PreTrainedModel

        @functools.wraps(own_tie)
        def tie_weights(self, *args, **kwargs):  # 5 passes missing_keys, recompute_mapping
            PreTrainedModel.tie_weights(self, *args, **kwargs)
            return own_tie(self)

        cls.tie_weights = tie_weights
    contexts = cls.get_init_context.__func__

    def get_init_context(klass, *args, **kwargs):
        meta = torch.device("meta")
        return [c for c in contexts(klass, *args, **kwargs) if c != meta]

    cls.get_init_context = classmethod(get_init_context)


def _apply() -> None:
    global _APPLIED
    if _APPLIED:
        return
    import transformers.modeling_utils as modeling_utils
    import transformers.pytorch_utils as pytorch_utils
    from transformers import PretrainedConfig, PreTrainedModel

    modeling_utils.find_pruneable_heads_and_indices = find_pruneable_heads_and_indices
    for name in ("prune_linear_layer", "apply_chunking_to_forward"):
        if not hasattr(modeling_utils, name):
            setattr(modeling_utils, name, getattr(pytorch_utils, name))
    for name, default in LEGACY_CONFIG.items():
        if not hasattr(PretrainedConfig, name):
            setattr(PretrainedConfig, name, default)
    for method in (get_extended_attention_mask, invert_attention_mask, get_head_mask):
        if not hasattr(PreTrainedModel, method.__name__):
            setattr(PreTrainedModel, method.__name__, method)

    init_weights = PreTrainedModel.init_weights

    @functools.wraps(init_weights)
    def init_weights_after_post_init(self):
        if "all_tied_weights_keys" not in self.__dict__:  # transformers 4 code: init_weights()
            return self.post_init()  # in __init__ where 5 needs post_init()
        return init_weights(self)

    PreTrainedModel.init_weights = init_weights_after_post_init
    original_subclass_hook = PreTrainedModel.__dict__.get("__init_subclass__")

    @classmethod
    def __init_subclass__(cls, **kwargs):
        if original_subclass_hook is not None:
            original_subclass_hook.__func__(cls, **kwargs)
        else:
            super(PreTrainedModel, cls).__init_subclass__(**kwargs)
        if cls.__module__.startswith("transformers_modules."):  # remote code only
            _patch_remote_class(cls)

    PreTrainedModel.__init_subclass__ = __init_subclass__
    _APPLIED = True


@contextmanager
def remote_code_compat(enabled: bool = True):
    """Context for loading a model: installs the shims (once per process) when `enabled`
    (the model runs remote code)."""
    if enabled:
        _apply()
    yield


def _auto_map(source: str, file: str, kwargs: dict) -> dict:
    """The `auto_map` of a snapshot's config or tokenizer_config file ({} if none)."""
    import json

    from transformers.utils.hub import cached_file

    path = cached_file(source, file, revision=kwargs.get("revision"),
                       cache_dir=kwargs.get("cache_dir"),
                       _raise_exceptions_for_missing_entries=False)  # fmt: skip
    return json.loads(Path(path).read_text()).get("auto_map", {}) if path else {}


def _hub_class(reference: str, source: str, kwargs: dict):
    from transformers.dynamic_module_utils import get_class_from_dynamic_module

    return get_class_from_dynamic_module(reference, source, revision=kwargs.get("revision"),
                                         cache_dir=kwargs.get("cache_dir"))  # fmt: skip


def hub_model_class(auto, source: str, kwargs: dict):
    """(model class, config) from the snapshot's own code where its config.json maps `auto`
    (e.g. AutoModel) and AutoConfig, else (auto, None). The Auto classes prefer a class that
    another package registered for the same model_type over the hub's remote code
    (multimolecule registers `hyenadna`, so HyenaDNA loaded as multimolecule's model)."""
    auto_map = _auto_map(source, "config.json", kwargs)
    if auto.__name__ not in auto_map or "AutoConfig" not in auto_map:
        return auto, None
    config_class = _hub_class(auto_map["AutoConfig"], source, kwargs)
    config = config_class.from_pretrained(source, revision=kwargs.get("revision"),
                                          cache_dir=kwargs.get("cache_dir"))  # fmt: skip
    return _hub_class(auto_map[auto.__name__], source, kwargs), config


def hub_tokenizer_class(auto, source: str, kwargs: dict):
    """The tokenizer class that the snapshot's tokenizer_config.json maps (its own code),
    else `auto` (for the same reason as `hub_model_class`)."""
    classes = _auto_map(source, "tokenizer_config.json", kwargs).get("AutoTokenizer")
    if not classes:
        return auto
    reference = classes[0] if isinstance(classes, list | tuple) else classes
    return _hub_class(reference, source, kwargs)
