"""Diffusion upsampler (Ramesh et al. 2022, sec. 2.1 / Saharia et al.): a UNet conditioned on the
bilinearly upsampled low-resolution image (concatenated to x_t), no text, no attention, so it is
fully convolutional and trains on random crops.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

from .config import UNetConfig
from .decoder import UNet


class Upsampler(nn.Module):
    """ONNX graph `upsampler_<R2>`: (x_t (B,3,R2,R2), timestep (B,), low_res (B,3,R1,R1)) -> pred."""

    def __init__(self, cfg: UNetConfig):
        super().__init__()
        assert cfg.in_channels == 6 and cfg.low_res > 0, "upsampler takes x_t and low_res (6 channels)"
        assert cfg.resolution % cfg.low_res == 0, "resolution must be a multiple of low_res"
        self.cfg = cfg
        self.factor = cfg.resolution // cfg.low_res
        self.unet = UNet(cfg)

    def forward(self, x_t, timestep, low_res):
        up = F.interpolate(low_res, scale_factor=float(self.factor), mode="bilinear", align_corners=False)
        return self.unet(torch.cat([x_t, up], dim=1), timestep)


def degrade(hi: torch.Tensor, factor: int, train: bool = True) -> torch.Tensor:
    """High-res (B,3,H,W) -> low-res (B,3,H/f,W/f) the way the previous stage would give it:
    area downsample, then (training only) random Gaussian blur and small noise (paper recipe)."""
    low = F.avg_pool2d(hi, factor)
    if not train:
        return low
    B = low.shape[0]
    k = torch.tensor([1.0, 2.0, 1.0], device=low.device)
    k = (k[:, None] * k[None, :]) / 16.0
    blurred = F.conv2d(F.pad(low, (1, 1, 1, 1), mode="replicate"), k.expand(3, 1, 3, 3), groups=3)
    amount = torch.rand(B, 1, 1, 1, device=low.device)
    low = low + amount * (blurred - low)
    low = low + torch.randn_like(low) * 0.03 * torch.rand(B, 1, 1, 1, device=low.device)
    return low.clamp(-1, 1)
