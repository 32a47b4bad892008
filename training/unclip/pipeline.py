"""The unCLIP sampling pipeline in PyTorch (what the TypeScript runner does with ONNX):
text -> CLIP text encoder -> prior (x0, unclipped) -> decoder (v) -> upsampler (v), each sampled
by `self.sampler` ("ddim", the default, or "dpmpp_2m"). Used by eval, the sample grids, the golden
files and the PyTorch baseline of `npm run bench`."""
import math

import torch
import torch.nn.functional as F

from .diffusion import Diffusion, sample


class Pipeline:
    def __init__(self, clip, prior, decoder, upsampler, tokenizer, cfg):
        self.clip, self.prior, self.decoder, self.upsampler = clip, prior, decoder, upsampler
        self.tok, self.cfg = tokenizer, cfg
        self.scale = cfg.prior.embedding_scale or math.sqrt(cfg.prior.embed_dim)
        self.prior_diff = Diffusion("cosine", cfg.prior.timesteps, "x0")
        self.dec_diff = Diffusion("cosine", cfg.decoder.timesteps, "v")
        self.up_diff = Diffusion("cosine", cfg.upsampler.timesteps, "v")
        self.sampler = "ddim"

    @torch.no_grad()
    def encode_text(self, captions):
        ids = torch.tensor(self.tok.encode_batch(captions), dtype=torch.long)
        te, tt = self.clip.encode_text(ids)
        return te, tt, (ids != 0).float()

    def prior_fn(self, te, tt, tm):
        def fn(x, t, cond):
            if cond:
                return self.prior(x, t, te, tt, tm)
            return self.prior(x, t, torch.zeros_like(te), torch.zeros_like(tt), torch.zeros_like(tm))
        return fn

    def decoder_fn(self, emb, tt, tm):
        def fn(x, t, cond):
            if cond:
                return self.decoder(x, t, emb, tt, tm)
            return self.decoder(x, t, torch.zeros_like(emb), torch.zeros_like(tt), torch.zeros_like(tm))
        return fn

    def upsampler_fn(self, low):
        return lambda x, t, cond: self.upsampler(x, t, low)

    @torch.no_grad()
    def sample_prior(self, captions, generator, steps=25, guidance=2.0):
        te, tt, tm = self.encode_text(captions)
        D = te.shape[1]
        x0 = sample(self.sampler, self.prior_fn(te, tt, tm), (len(captions), D), self.prior_diff, steps, guidance,
                         clip_x0=False, generator=generator)
        return F.normalize(x0 / self.scale, dim=-1), tt, tm

    @torch.no_grad()
    def decode(self, emb, tt, tm, generator, steps=25, guidance=3.0):
        R = self.cfg.decoder.resolution
        return sample(self.sampler, self.decoder_fn(emb, tt, tm), (len(emb), 3, R, R), self.dec_diff, steps, guidance,
                           generator=generator)

    @torch.no_grad()
    def upsample(self, low, generator, steps=10):
        R2 = self.cfg.upsampler.resolution
        return sample(self.sampler, self.upsampler_fn(low), (len(low), 3, R2, R2), self.up_diff, steps, 1.0,
                           generator=generator)

    @torch.no_grad()
    def generate(self, captions, seed=0, prior_steps=25, prior_guidance=2.0, steps=25, guidance=3.0,
                 up_steps=10, upsample=True, batch=50):
        """-> (low (B,3,R,R), high (B,3,2R,2R) or None) in [-1, 1]."""
        lows, highs = [], []
        for i in range(0, len(captions), batch):
            g = torch.Generator().manual_seed(seed + i)
            emb, tt, tm = self.sample_prior(captions[i:i + batch], g, prior_steps, prior_guidance)
            low = self.decode(emb, tt, tm, g, steps, guidance)
            lows.append(low)
            if upsample:
                highs.append(self.upsample(low, g, up_steps))
        return torch.cat(lows), (torch.cat(highs) if upsample else None)

    @torch.no_grad()
    def variations(self, images, seed=0, steps=25, guidance=3.0):
        """images (B,3,R,R) in [-1,1] -> decoder samples from their CLIP image embeddings (no text)."""
        g = torch.Generator().manual_seed(seed)
        emb = self.clip.encode_image(images)
        B = len(images)
        L, W = self.cfg.clip.context_length, self.cfg.clip.text_width
        return self.decode(emb, torch.zeros(B, L, W), torch.zeros(B, L), g, steps, guidance)
