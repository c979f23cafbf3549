"""A fused inference forward for transformers' native ESM encoders.

ESM-2, Nucleotide Transformer v1 and the workflow's random-init control are `EsmModel`s.
`FusedEsm` computes the same `last_hidden_state` from the same weights with fewer, larger
kernels: one QKV GEMM (the query scale folded into its weights), rotary positions applied
to queries and keys together (roll and multiply-add instead of casts and `cat`), bias
additions inside the GEMMs, the exact erf GELU as one kernel (`F.gelu`), and SDPA. Its
weights are cast once to the compute dtype (the entry's dtype on GPU, fp32 on CPU) and it
runs without autocast. Transformers' ESM code spends more than half of an H100's time in small
elementwise kernels; these are what the fusion removes.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

MASK_RATIO_TRAIN = 0.15 * 0.8  # ESM's token-dropout rescaling, as transformers hard-codes it


def supports(model) -> bool:
    """True for a bidirectional transformers `EsmModel` (its blocks always use erf GELU)."""
    config = model.config
    return (
        type(model).__name__ == "EsmModel"
        and type(model).__module__.startswith("transformers.")
        and not config.is_decoder
        and getattr(config, "position_embedding_type", "absolute") in ("rotary", "absolute")
    )


class FusedEsm:
    """`EsmModel(ids, attention_mask=mask).last_hidden_state`, fused (see the module doc),
    with the model's weights copied to `device` in `dtype`; `compile` also fuses each
    block's elementwise work into generated kernels (torch.compile, dynamic shapes)."""

    def __init__(self, model, device: str, dtype: torch.dtype, compile: bool = False):
        config = model.config
        self.device = device
        self.dtype = dtype
        self.heads = config.num_attention_heads
        self.head_dim = config.hidden_size // self.heads
        self.eps = config.layer_norm_eps
        self.pad_id = config.pad_token_id
        self.mask_id = config.mask_token_id if config.token_dropout else None
        self.rotary = config.position_embedding_type == "rotary"
        embeddings = model.embeddings
        self.word = self._weight(embeddings.word_embeddings.weight)
        self.position = None if self.rotary else self._weight(embeddings.position_embeddings.weight)
        self.norm_before = self._norm(embeddings.layer_norm) if embeddings.layer_norm else None
        self.layers = [self._layer(layer) for layer in model.encoder.layer]
        self.norm_after = self._norm(model.encoder.emb_layer_norm_after)
        if self.rotary:
            self.inv_freq = model.rotary_embeddings.inv_freq.to(device, torch.float32)
        self._angles = {}
        if compile:  # one graph serves every layer and batch shape
            self.block = torch.compile(self.block, dynamic=True)

    def _weight(self, tensor) -> torch.Tensor:
        return tensor.detach().to(self.device, self.dtype)

    def _norm(self, module) -> tuple:
        return self._weight(module.weight), self._weight(module.bias)

    def _layer(self, layer) -> dict:
        attention = layer.attention.self
        scale = self.head_dim**-0.5  # ESM scales queries before the rotary embedding
        qkv_weight = torch.cat([attention.query.weight * scale, attention.key.weight,
                                attention.value.weight])  # fmt: skip
        qkv_bias = torch.cat([attention.query.bias * scale, attention.key.bias,
                              attention.value.bias])  # fmt: skip
        return {
            "norm1": self._norm(layer.attention.LayerNorm),
            "qkv": (self._weight(qkv_weight), self._weight(qkv_bias)),
            "out": (
                self._weight(layer.attention.output.dense.weight),
                self._weight(layer.attention.output.dense.bias),
            ),  # fmt: skip
            "norm2": self._norm(layer.LayerNorm),
            "up": (
                self._weight(layer.intermediate.dense.weight),
                self._weight(layer.intermediate.dense.bias),
            ),  # fmt: skip
            "down": (
                self._weight(layer.output.dense.weight),
                self._weight(layer.output.dense.bias),
            ),
        }

    def angles(self, width: int) -> tuple[torch.Tensor, torch.Tensor]:
        """cos and signed sin (-sin on the first half, so that rotate_half(x) * sin equals
        roll(x, half) * signed sin) of positions 0..width-1, shaped to broadcast over
        (batch, width, q/k, heads, head_dim); cached per width."""
        if width not in self._angles:
            positions = torch.arange(width, device=self.device, dtype=torch.float32)
            freqs = torch.outer(positions, self.inv_freq)
            cos = torch.cat([freqs, freqs], dim=-1).cos()
            sin = torch.cat([-freqs, freqs], dim=-1).sin()
            shape = (1, width, 1, 1, self.head_dim)
            self._angles[width] = (cos.to(self.dtype).view(shape), sin.to(self.dtype).view(shape))
        return self._angles[width]

    def embed(self, ids: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        """Token (and learned position) embeddings, as EsmEmbeddings computes them."""
        x = F.embedding(ids, self.word)
        if self.mask_id is not None:  # token dropout: masked tokens zeroed, the rest rescaled
            masked = ids == self.mask_id
            x = x.masked_fill(masked.unsqueeze(-1), 0.0)
            lengths = mask.sum(-1) if mask is not None else ids.shape[1]
            observed = masked.sum(-1).float() / lengths
            x = (x * ((1 - MASK_RATIO_TRAIN) / (1 - observed))[:, None, None]).to(self.dtype)
        if self.position is not None:
            real = (ids != self.pad_id).long()
            x = x + F.embedding(torch.cumsum(real, dim=1) * real + self.pad_id, self.position)
        if self.norm_before is not None:
            x = F.layer_norm(x, x.shape[-1:], *self.norm_before, self.eps)
        if mask is not None:
            x = x * mask.unsqueeze(-1).to(x.dtype)
        return x

    def __call__(self, ids: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        """Per-token hidden states (batch, width, hidden) of right-padded `ids`."""
        x = self.embed(ids, mask)
        keys = None if mask is None else mask.bool()[:, None, None, :]
        angles = self.angles(ids.shape[1]) if self.rotary else None
        for layer in self.layers:
            x = self.block(x, layer, keys, angles)
        return F.layer_norm(x, x.shape[-1:], *self.norm_after, self.eps)

    def block(self, x: torch.Tensor, layer: dict, keys, angles) -> torch.Tensor:
        """One pre-LayerNorm transformer block."""
        batch, width, _ = x.shape
        h = F.layer_norm(x, x.shape[-1:], *layer["norm1"], self.eps)
        qkv = F.linear(h, *layer["qkv"]).view(batch, width, 3, self.heads, self.head_dim)
        qk, v = qkv[:, :, :2], qkv[:, :, 2]
        if angles is not None:
            cos, sin = angles
            qk = torch.addcmul(qk * cos, qk.roll(self.head_dim // 2, dims=-1), sin)
        q, k = qk.unbind(2)
        attended = F.scaled_dot_product_attention(
            q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2), attn_mask=keys, scale=1.0
        )
        x = x + F.linear(attended.transpose(1, 2).reshape(batch, width, -1), *layer["out"])
        h = F.layer_norm(x, x.shape[-1:], *layer["norm2"], self.eps)
        return x + F.linear(F.gelu(F.linear(h, *layer["up"])), *layer["down"])
