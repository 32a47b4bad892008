"""UNet (Ho et al. 2020 / GLIDE-style) and the unCLIP decoder built from it.

Decoder conditioning (Ramesh et al. 2022, sec. 2.1): the CLIP image embedding is projected
and added to the timestep embedding AND projected into `embed_tokens` extra context tokens;
the text tokens are further context. A learned null token is always in the context so
attention never sees an all-masked context. Unconditional = image_embed 0, text_mask 0.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

from .config import UNetConfig
from .layers import Attention, GroupNorm32, key_padding_bias, timestep_embedding


def norm(c: int) -> nn.GroupNorm:
    return GroupNorm32(min(8, c), c)


class ResBlock(nn.Module):
    def __init__(self, c_in: int, c_out: int, emb: int, dropout: float):
        super().__init__()
        self.n1, self.c1 = norm(c_in), nn.Conv2d(c_in, c_out, 3, padding=1)
        self.emb = nn.Linear(emb, 2 * c_out)  # scale-shift (FiLM) as in improved DDPM
        self.n2, self.c2 = norm(c_out), nn.Conv2d(c_out, c_out, 3, padding=1)
        self.drop = nn.Dropout(dropout)
        self.skip = nn.Conv2d(c_in, c_out, 1) if c_in != c_out else nn.Identity()
        nn.init.zeros_(self.c2.weight)
        nn.init.zeros_(self.c2.bias)

    def forward(self, x, emb):
        h = self.c1(F.silu(self.n1(x)))
        scale, shift = self.emb(F.silu(emb))[:, :, None, None].chunk(2, dim=1)
        h = self.n2(h) * (1 + scale) + shift
        h = self.c2(self.drop(F.silu(h)))
        return self.skip(x) + h


class AttnBlock(nn.Module):
    """Self-attention over pixels; context tokens (if any) are appended to the keys (GLIDE)."""

    def __init__(self, c: int, heads: int, ctx_dim: int):
        super().__init__()
        self.norm = norm(c)
        self.attn = Attention(c, heads)
        self.ctx = nn.Linear(ctx_dim, c) if ctx_dim else None

    def forward(self, x, ctx=None, ctx_bias=None):
        B, C, H, W = x.shape
        h = self.norm(x).reshape(B, C, H * W).transpose(1, 2)  # (B, HW, C)
        if self.ctx is not None and ctx is not None:
            kv = torch.cat([h, self.ctx(ctx)], dim=1)  # (B, HW + M, C)
            bias = torch.cat([torch.zeros(B, 1, H * W, device=x.device, dtype=ctx_bias.dtype), ctx_bias], dim=2)
            h = self.attn(h, kv, bias)
        else:
            h = self.attn(h)
        return x + h.transpose(1, 2).reshape(B, C, H, W)


class UNet(nn.Module):
    """Bare network: (x_in (B, Cin, R, R), timestep (B,), emb_extra (B, E) or None, ctx, ctx_bias) -> (B, Cout, R, R)."""

    def __init__(self, cfg: UNetConfig, ctx_dim: int = 0):
        super().__init__()
        self.cfg = cfg
        ch = cfg.base_channels
        emb = 4 * ch
        self.time = nn.Sequential(nn.Linear(ch, emb), nn.SiLU(), nn.Linear(emb, emb))
        self.inp = nn.Conv2d(cfg.in_channels, ch, 3, padding=1)
        self.down, self.up = nn.ModuleList(), nn.ModuleList()
        skips, c = [ch], ch
        for lvl, m in enumerate(cfg.channel_mults):
            for _ in range(cfg.blocks_per_level):
                attn = AttnBlock(ch * m, cfg.heads, ctx_dim) if lvl in cfg.attention_levels else None
                self.down.append(nn.ModuleList([ResBlock(c, ch * m, emb, cfg.dropout), attn]))
                c = ch * m
                skips.append(c)
            if lvl < len(cfg.channel_mults) - 1:
                self.down.append(nn.Conv2d(c, c, 3, stride=2, padding=1))
                skips.append(c)
        self.mid1 = ResBlock(c, c, emb, cfg.dropout)
        self.mid_attn = AttnBlock(c, cfg.heads, ctx_dim) if cfg.attention_levels else None
        self.mid2 = ResBlock(c, c, emb, cfg.dropout)
        for lvl, m in reversed(list(enumerate(cfg.channel_mults))):
            for _ in range(cfg.blocks_per_level + 1):
                attn = AttnBlock(ch * m, cfg.heads, ctx_dim) if lvl in cfg.attention_levels else None
                self.up.append(nn.ModuleList([ResBlock(c + skips.pop(), ch * m, emb, cfg.dropout), attn]))
                c = ch * m
            if lvl > 0:
                self.up.append(nn.Upsample(scale_factor=2, mode="nearest"))
        self.out = nn.Sequential(norm(c), nn.SiLU(), nn.Conv2d(c, cfg.out_channels, 3, padding=1))
        nn.init.zeros_(self.out[-1].weight)
        nn.init.zeros_(self.out[-1].bias)

    def forward(self, x, timestep, emb_extra=None, ctx=None, ctx_bias=None):
        emb = self.time(timestep_embedding(timestep, self.cfg.base_channels))
        if emb_extra is not None:
            emb = emb + emb_extra
        h = self.inp(x)
        hs = [h]
        for layer in self.down:
            if isinstance(layer, nn.ModuleList):
                h = layer[0](h, emb)
                if layer[1] is not None:
                    h = layer[1](h, ctx, ctx_bias)
            else:
                h = layer(h)
            hs.append(h)
        h = self.mid1(h, emb)
        if self.mid_attn is not None:
            h = self.mid_attn(h, ctx, ctx_bias)
        h = self.mid2(h, emb)
        for layer in self.up:
            if isinstance(layer, nn.ModuleList):
                h = layer[0](torch.cat([h, hs.pop()], dim=1), emb)
                if layer[1] is not None:
                    h = layer[1](h, ctx, ctx_bias)
            else:
                h = layer(h)
        return self.out(h)


class Decoder(nn.Module):
    """ONNX graph `decoder`: (x_t, timestep, image_embed, text_tokens, text_mask) -> pred (v)."""

    def __init__(self, cfg: UNetConfig):
        super().__init__()
        assert cfg.embed_dim > 0 and cfg.text_width > 0, "decoder needs embed_dim and text_width"
        self.cfg = cfg
        ctx = cfg.text_width
        emb = 4 * cfg.base_channels
        self.unet = UNet(cfg, ctx_dim=ctx)
        self.embed_to_time = nn.Linear(cfg.embed_dim, emb)
        self.embed_to_tokens = nn.Linear(cfg.embed_dim, cfg.embed_tokens * ctx)
        self.null_token = nn.Parameter(torch.randn(1, 1, ctx) * 0.02)

    def forward(self, x_t, timestep, image_embed, text_tokens, text_mask):
        # x_t (B,3,R,R), timestep (B,), image_embed (B,D), text_tokens (B,L,W), text_mask (B,L)
        B = x_t.shape[0]
        W = self.cfg.text_width
        emb_tokens = self.embed_to_tokens(image_embed).reshape(B, self.cfg.embed_tokens, W)
        ctx = torch.cat([self.null_token.expand(B, 1, W), emb_tokens, text_tokens], dim=1)  # (B, 1+E+L, W)
        ones = torch.ones(B, 1 + self.cfg.embed_tokens, device=x_t.device, dtype=text_mask.dtype)
        ctx_bias = key_padding_bias(torch.cat([ones, text_mask], dim=1))  # (B, 1, M)
        return self.unet(x_t, timestep, self.embed_to_time(image_embed), ctx, ctx_bias)
