"""A fused inference forward for transformers' native ESM encoders.

ESM-2, Nucleotide Transformer v1 and the workflow's random-init control are `EsmModel`s.
`FusedEsm` computes the same `last_hidden_state` from the same weights with fewer, larger
kernels: one QKV GEMM (the query scale folded into its weights) that also yields
rotate_half(q) and rotate_half(k) (rotate_half is a signed permutation of the weight rows),
so rotary positions cost two elementwise kernels for queries and keys together instead of
casts, `cat`s and ten more; biases inside the GEMMs; the exact erf GELU as one kernel
(`F.gelu`); SDPA. Its weights are cast once to the compute dtype (the entry's dtype on GPU,
fp32 on CPU) and it runs without autocast. Transformers' ESM code spends more than half of
an H100's time in small elementwise kernels; these are what the fusion removes.
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
    with the model's weights copied to `device` in `dtype`."""

    def __init__(self, model, device: str, dtype: torch.dtype):
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
        self.norm_before = self._pair(embeddings.layer_norm) if embeddings.layer_norm else None
        self.layers = [self._layer(layer) for layer in model.encoder.layer]
        self.norm_after = self._pair(model.encoder.emb_layer_norm_after)
        if self.rotary:
            self.inv_freq = model.rotary_embeddings.inv_freq.to(device, torch.float32)
        self._angles = None

    def _weight(self, tensor) -> torch.Tensor:
        return tensor.detach().to(self.device, self.dtype)

    def _pair(self, module) -> tuple:
        """(weight, bias) of a Linear or LayerNorm, on the device in the compute dtype."""
        return self._weight(module.weight), self._weight(module.bias)

    def _rotate_half(self, rows: torch.Tensor) -> torch.Tensor:
        """Rows of a projection whose outputs are rotate_half of the original's, per head."""
        heads = rows.reshape(self.heads, 2, self.head_dim // 2, *rows.shape[1:])
        return torch.cat([-heads[:, 1:], heads[:, :1]], dim=1).reshape(rows.shape)

    def _layer(self, layer) -> dict:
        attention = layer.attention.self
        scale = self.head_dim**-0.5  # ESM scales queries before the rotary embedding
        parts = [(attention.query.weight * scale, attention.query.bias * scale),
                 (attention.key.weight, attention.key.bias),
                 (attention.value.weight, attention.value.bias)]  # fmt: skip
        if self.rotary:  # rotate_half(q), rotate_half(k) come out of the same GEMM
            parts += [tuple(map(self._rotate_half, pair)) for pair in parts[:2]]
        return {
            "norm1": self._pair(layer.attention.LayerNorm),
            "qkv": tuple(self._weight(torch.cat(tensors)) for tensors in zip(*parts, strict=True)),
            "out": self._pair(layer.attention.output.dense),
            "norm2": self._pair(layer.LayerNorm),
            "up": self._pair(layer.intermediate.dense),
            "down": self._pair(layer.output.dense),
        }

    def angles(self, width: int) -> tuple[torch.Tensor, torch.Tensor]:
        """cos and sin of positions 0..width-1, shaped to broadcast over (batch, width, q/k,
        heads, head_dim): views of one table, recomputed only when a wider batch comes."""
        if self._angles is None or self._angles[0].shape[1] < width:
            positions = torch.arange(width, device=self.device, dtype=torch.float32)
            freqs = torch.outer(positions, self.inv_freq).repeat(1, 2)
            shape = (1, width, 1, 1, self.head_dim)
            self._angles = tuple(f.to(self.dtype).view(shape) for f in (freqs.cos(), freqs.sin()))
        return self._angles[0][:, :width], self._angles[1][:, :width]

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
        h = F.layer_norm(x, x.shape[-1:], *self.layers[0]["norm1"], self.eps)
        norms_after = [layer["norm1"] for layer in self.layers[1:]] + [self.norm_after]
        for layer, norm_after in zip(self.layers, norms_after, strict=True):
            x, h = self.block(x, h, layer, norm_after, keys, angles)
        return h

    def block(self, x, h, layer: dict, norm_after: tuple, keys, angles) -> tuple:
        """One pre-LayerNorm transformer block on x and its normalised h = LN1(x): the new
        x and its LayerNorm by `norm_after` (the next block's LN1, or the final one)."""
        batch, width, _ = x.shape
        qkv = F.linear(h, *layer["qkv"]).view(batch, width, -1, self.heads, self.head_dim)
        qk, v = qkv[:, :, :2], qkv[:, :, 2]
        if angles is not None:
            qk = rotate(qk, qkv[:, :, 3:], *angles)
        q, k = qk.unbind(2)
        attended = F.scaled_dot_product_attention(
            q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2), attn_mask=keys, scale=1.0
        )
        out = F.linear(attended.transpose(1, 2).reshape(batch, width, -1), *layer["out"])
        x, h = add_norm(x, out, *layer["norm2"], self.eps)
        return add_norm(x, F.linear(F.gelu(F.linear(h, *layer["up"])), *layer["down"]),
                        *norm_after, self.eps)  # fmt: skip


def rotate(qk: torch.Tensor, rotated: torch.Tensor, cos, sin) -> torch.Tensor:
    """Rotary positions: qk cos + rotate_half(qk) sin, with rotate_half(qk) from the GEMM."""
    return torch.addcmul(qk * cos, rotated, sin)


def add_norm(x: torch.Tensor, y: torch.Tensor, weight, bias, eps: float) -> tuple:
    """The residual sum x + y and its LayerNorm (one kernel each in eager mode; one pass
    where compiled)."""
    x = x + y
    return x, F.layer_norm(x, x.shape[-1:], weight, bias, eps)
