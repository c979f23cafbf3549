"""A CPU stand-in for mamba-ssm (tests only): `Mamba` and `Block` with mamba_ssm 1.x's
parameter names and shapes, the selective scan written as a plain PyTorch loop over
positions (the maths of mamba_ssm's reference `selective_scan_ref`). `install(monkeypatch)`
puts it in sys.modules as `mamba_ssm`, so that hub code importing mamba_ssm (Orthrus) loads
its real checkpoint and runs on CPU, slowly, for short sequences."""

import math
import sys
import types

import torch
import torch.nn.functional as F
from torch import nn


class Mamba(nn.Module):
    """mamba_ssm.modules.mamba_simple.Mamba (no fused kernels, no inference cache)."""

    def __init__(self, d_model, d_state=16, d_conv=4, expand=2, layer_idx=None, **_):
        super().__init__()
        inner, self.rank, self.d_state = expand * d_model, math.ceil(d_model / 16), d_state
        self.layer_idx = layer_idx
        self.in_proj = nn.Linear(d_model, 2 * inner, bias=False)
        self.conv1d = nn.Conv1d(inner, inner, d_conv, groups=inner, padding=d_conv - 1)
        self.x_proj = nn.Linear(inner, self.rank + 2 * d_state, bias=False)
        self.dt_proj = nn.Linear(self.rank, inner)
        self.A_log = nn.Parameter(torch.zeros(inner, d_state))
        self.D = nn.Parameter(torch.ones(inner))
        self.out_proj = nn.Linear(inner, d_model, bias=False)

    def forward(self, hidden, inference_params=None):
        length = hidden.shape[1]
        x, z = self.in_proj(hidden).chunk(2, dim=-1)
        x = F.silu(self.conv1d(x.transpose(1, 2))[..., :length]).transpose(1, 2)
        dt, b, c = self.x_proj(x).split([self.rank, self.d_state, self.d_state], dim=-1)
        dt = F.softplus(self.dt_proj(dt))
        a = -torch.exp(self.A_log.float())
        state = x.new_zeros(x.shape[0], x.shape[2], self.d_state)
        out = []
        for t in range(length):
            state = torch.exp(dt[:, t, :, None] * a) * state
            state = state + dt[:, t, :, None] * b[:, t, None, :] * x[:, t, :, None]
            out.append((state * c[:, t, None, :]).sum(-1))
        y = (torch.stack(out, dim=1) + x * self.D) * F.silu(z)
        return self.out_proj(y)


class Block(nn.Module):
    """mamba_ssm 1.x Block: add the residual, norm, mix; returns (hidden, residual)."""

    def __init__(self, dim, mixer_cls, norm_cls=nn.LayerNorm, fused_add_norm=False,
                 residual_in_fp32=False):  # fmt: skip
        super().__init__()
        self.mixer, self.norm = mixer_cls(dim), norm_cls(dim)

    def forward(self, hidden, residual=None, inference_params=None):
        residual = hidden if residual is None else hidden + residual
        return self.mixer(self.norm(residual)), residual


def install(monkeypatch) -> None:
    """Make `import mamba_ssm.modules.mamba_simple` (and `.block`) find this module."""
    package = types.ModuleType("mamba_ssm")
    modules = types.ModuleType("mamba_ssm.modules")
    simple = types.ModuleType("mamba_ssm.modules.mamba_simple")
    simple.Mamba, simple.Block = Mamba, Block
    package.modules, modules.mamba_simple = modules, simple
    for name, module in [("mamba_ssm", package), ("mamba_ssm.modules", modules),
                         ("mamba_ssm.modules.mamba_simple", simple)]:  # fmt: skip
        monkeypatch.setitem(sys.modules, name, module)
    monkeypatch.delitem(sys.modules, "mamba_ssm.modules.block", raising=False)
