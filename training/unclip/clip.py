"""CLIP (Radford et al. 2021), small: a text transformer and a conv image encoder trained contrastively.

Public surface as in openai/CLIP: `encode_text`, `encode_image`; the ONNX graphs are
`TextEncoder` (input_ids -> text_embed, text_tokens) and `ImageEncoder` (image -> image_embed).
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from .config import ClipConfig
from .layers import GroupNorm32, TransformerBlock, key_padding_bias


class TextEncoder(nn.Module):
    def __init__(self, cfg: ClipConfig):
        super().__init__()
        assert cfg.vocab_size > 4, "set ClipConfig.vocab_size from the tokenizer"
        self.tok = nn.Embedding(cfg.vocab_size, cfg.text_width)
        self.pos = nn.Parameter(torch.randn(cfg.context_length, cfg.text_width) * 0.02)
        self.blocks = nn.ModuleList([TransformerBlock(cfg.text_width, cfg.text_heads) for _ in range(cfg.text_layers)])
        self.ln = nn.LayerNorm(cfg.text_width)
        self.proj = nn.Linear(cfg.text_width, cfg.embed_dim, bias=False)

    def forward(self, input_ids):
        # input_ids (B, L) int64 with [PAD]=0 -> text_embed (B, D) unit norm, text_tokens (B, L, W)
        mask = (input_ids != 0).float()  # (B, L)
        x = self.tok(input_ids) + self.pos[None]
        bias = key_padding_bias(mask)
        for blk in self.blocks:
            x = blk(x, bias)
        tokens = self.ln(x)  # (B, L, W)
        pooled = (tokens * mask[..., None]).sum(1) / mask.sum(1, keepdim=True).clamp(min=1.0)
        embed = self.proj(pooled)
        return F.normalize(embed, dim=-1), tokens


class ImageEncoder(nn.Module):
    """Stride-2 conv stages with GroupNorm, global average pool, linear -> D (unit norm)."""

    def __init__(self, cfg: ClipConfig):
        super().__init__()
        layers, c_in = [], 3
        for c in cfg.image_channels:
            layers += [nn.Conv2d(c_in, c, 3, padding=1), GroupNorm32(8, c), nn.SiLU(),
                       nn.Conv2d(c, c, 3, stride=2, padding=1), GroupNorm32(8, c), nn.SiLU()]
            c_in = c
        self.net = nn.Sequential(*layers)
        self.proj = nn.Linear(c_in, cfg.embed_dim, bias=False)
        self.resolution = cfg.image_resolution

    def forward(self, image):
        # image (B, 3, R, R) in [-1, 1] -> (B, D) unit norm
        h = self.net(image).mean(dim=(2, 3))
        return F.normalize(self.proj(h), dim=-1)


class CLIP(nn.Module):
    def __init__(self, cfg: ClipConfig):
        super().__init__()
        self.cfg = cfg
        self.text = TextEncoder(cfg)
        self.image = ImageEncoder(cfg)
        self.logit_scale = nn.Parameter(torch.tensor(math.log(1 / 0.07)))

    def encode_text(self, input_ids):
        return self.text(input_ids)

    def encode_image(self, image):
        return self.image(image)

    def loss(self, image, input_ids, same=None):
        """Symmetric InfoNCE. `same` (B, B) bool marks pairs with identical captions (not negatives)."""
        return self.contrastive(self.encode_image(image), self.encode_text(input_ids)[0], same)

    def contrastive(self, ie, te, same=None):
        """`loss` on embeddings already computed: ie, te (B, D) unit norm."""
        logits = self.logit_scale.exp().clamp(max=100) * ie @ te.t()  # (B, B)
        if same is not None:
            eye = torch.eye(len(ie), dtype=torch.bool, device=ie.device)
            logits = logits.masked_fill(same & ~eye, -1e4)
        labels = torch.arange(len(ie), device=ie.device)
        return (F.cross_entropy(logits, labels) + F.cross_entropy(logits.t(), labels)) / 2
