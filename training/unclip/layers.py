"""Building blocks shared by the networks: masked attention, transformer block, timestep embedding.

Attention masks are additive (-1e4 on masked keys), never -inf, and every caller keeps at
least one always-visible key, so a fully masked text never produces NaN. Plain matmuls
export to ONNX on every opset we use.
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

MASKED = -1e4


def timestep_embedding(t: torch.Tensor, dim: int) -> torch.Tensor:
    """(B,) float timesteps -> (B, dim) sinusoidal features (Vaswani et al. / DDPM)."""
    half = dim // 2
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, dtype=torch.float32, device=t.device) / half)
    args = t.float()[:, None] * freqs[None, :]
    return torch.cat([torch.cos(args), torch.sin(args)], dim=-1)


class Attention(nn.Module):
    """Multi-head attention of queries x (B, N, C) over keys/values ctx (B, M, C)."""

    def __init__(self, dim: int, heads: int, ctx_dim: int = 0):
        super().__init__()
        assert dim % heads == 0, f"dim {dim} not divisible by heads {heads}"
        self.heads = heads
        self.q = nn.Linear(dim, dim)
        self.kv = nn.Linear(ctx_dim or dim, 2 * dim)
        self.out = nn.Linear(dim, dim)

    def forward(self, x, ctx=None, bias=None):
        # x (B, N, C); ctx (B, M, Cc) or None for self-attention; bias (B, 1|N, M) additive
        ctx = x if ctx is None else ctx
        B, N, C = x.shape
        M = ctx.shape[1]
        h = self.heads
        q = self.q(x).reshape(B, N, h, C // h).transpose(1, 2)  # (B, h, N, c)
        k, v = self.kv(ctx).chunk(2, dim=-1)
        k = k.reshape(B, M, h, C // h).transpose(1, 2)  # (B, h, M, c)
        v = v.reshape(B, M, h, C // h).transpose(1, 2)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(C // h))  # (B, h, N, M)
        if bias is not None:
            att = att + bias[:, None]
        att = F.softmax(att.float(), dim=-1).type_as(v)
        y = (att @ v).transpose(1, 2).reshape(B, N, C)
        return self.out(y)


class TransformerBlock(nn.Module):
    """Pre-LN block: x + attn(ln(x)); x + mlp(ln(x))."""

    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.ln1 = nn.LayerNorm(dim)
        self.attn = Attention(dim, heads)
        self.ln2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim))

    def forward(self, x, bias=None):
        x = x + self.attn(self.ln1(x), bias=bias)
        return x + self.mlp(self.ln2(x))


class GroupNorm32(nn.GroupNorm):
    """GroupNorm whose statistics are always fp32. Under CPU bf16 autocast torch 1.13 has no
    mixed-dtype group_norm (bf16 input, fp32 weight raises); CUDA autocast runs it in fp32 too.
    fp32 inputs (export, eval) take the plain path, so the ONNX graph is unchanged."""

    def forward(self, x):
        if x.dtype == torch.float32:
            return super().forward(x)
        return F.group_norm(x.float(), self.num_groups, self.weight, self.bias, self.eps).type_as(x)


def key_padding_bias(mask: torch.Tensor) -> torch.Tensor:
    """(B, M) float mask (1 = visible) -> (B, 1, M) additive bias."""
    return ((1.0 - mask) * MASKED)[:, None, :]
