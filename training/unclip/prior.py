"""Diffusion prior (Ramesh et al. 2022, sec. 2.1): a decoder-only transformer that predicts the
clean (scaled) CLIP image embedding x0 from the noised one, the timestep and the text.

Sequence (causal): [timestep, x_t, text_embed, text_tokens (L), query] -> x0 from the query.
The first three tokens are always visible, so a fully masked text never gives NaN.
Unconditional = text_embed, text_tokens and text_mask all zeros.
"""
import torch
import torch.nn as nn

from .config import PriorConfig
from .layers import MASKED, TransformerBlock, timestep_embedding


class Prior(nn.Module):
    def __init__(self, cfg: PriorConfig):
        super().__init__()
        self.cfg = cfg
        w = cfg.width
        self.time = nn.Sequential(nn.Linear(w, w), nn.SiLU(), nn.Linear(w, w))
        self.x_in = nn.Linear(cfg.embed_dim, w)
        self.text_embed_in = nn.Linear(cfg.embed_dim, w)
        self.tokens_in = nn.Linear(cfg.text_width, w)
        self.query = nn.Parameter(torch.randn(w) * 0.02)
        n = cfg.context_length + 4
        self.pos = nn.Parameter(torch.randn(n, w) * 0.02)
        self.blocks = nn.ModuleList([TransformerBlock(w, cfg.heads) for _ in range(cfg.layers)])
        self.ln = nn.LayerNorm(w)
        self.out = nn.Linear(w, cfg.embed_dim)
        causal = torch.full((n, n), MASKED).triu(1)
        self.register_buffer("causal", causal, persistent=False)

    def forward(self, x_t, timestep, text_embed, text_tokens, text_mask):
        # x_t (B, D), timestep (B,), text_embed (B, D), text_tokens (B, L, W), text_mask (B, L) -> (B, D)
        B = x_t.shape[0]
        w = self.cfg.width
        t = self.time(timestep_embedding(timestep, w))[:, None]  # (B, 1, w)
        seq = torch.cat([t, self.x_in(x_t)[:, None], self.text_embed_in(text_embed)[:, None],
                         self.tokens_in(text_tokens), self.query.expand(B, 1, w)], dim=1) + self.pos[None]
        ones = torch.ones(B, 3, device=x_t.device, dtype=text_mask.dtype)
        keep = torch.cat([ones, text_mask, ones[:, :1]], dim=1)  # (B, n)
        bias = self.causal[None] + ((1.0 - keep) * MASKED)[:, None, :]  # (B, n, n)
        for blk in self.blocks:
            seq = blk(seq, bias)
        return self.out(self.ln(seq[:, -1]))
