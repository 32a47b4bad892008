"""Heavy augmentation for the judge CLIP: views of a clean vector emoji that look like what a
generator returns (off-centre, rescaled, soft, noisy, colour-shifted), so the judge's ruler does
not reward a bundle for reproducing one vendor's crisp outlines."""
import torch
import torch.nn.functional as F


def _affine(x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    """Random resized crop, shift and small rotation; the area uncovered is white (as emoji are)."""
    B = len(x)
    ang = (torch.rand(B, generator=g) - 0.5) * 0.6          # ±17°
    scale = 0.7 + 0.55 * torch.rand(B, generator=g)         # <1 zooms in (a crop), >1 zooms out
    aspect = 1 + (torch.rand(B, generator=g) - 0.5) * 0.2
    shift = (torch.rand(B, 2, generator=g) - 0.5) * 0.4
    cos, sin = ang.cos(), ang.sin()
    theta = torch.stack([torch.stack([scale * aspect * cos, -scale * sin, shift[:, 0]], 1),
                         torch.stack([scale * aspect * sin, scale / aspect * cos, shift[:, 1]], 1)], 1)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x + 1, grid, padding_mode="zeros", align_corners=False) - 1


def _colour(x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    """Brightness, contrast, saturation and per-channel gain; a few views lose colour entirely.
    Hue is left nearly alone: "a red apple" and "a green apple" differ by it."""
    B = len(x)
    u = (x + 1) / 2                                                   # [0, 1]
    gain = 1 + (torch.rand(B, 3, 1, 1, generator=g) - 0.5) * 0.3
    bright = (torch.rand(B, 1, 1, 1, generator=g) - 0.5) * 0.3
    contrast = 0.65 + 0.7 * torch.rand(B, 1, 1, 1, generator=g)
    grey = u.mean(1, keepdim=True)
    sat = 0.5 + 0.9 * torch.rand(B, 1, 1, 1, generator=g)
    sat = torch.where(torch.rand(B, 1, 1, 1, generator=g) < 0.08, torch.zeros_like(sat), sat)
    u = grey + (u - grey) * sat
    mean = u.mean((1, 2, 3), keepdim=True)
    u = (u - mean) * contrast + mean + bright
    return (u * gain).clamp(0, 1) * 2 - 1


def _soften(x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    """Down-and-up sampling through a random lower resolution (a generator's softness), or a blur."""
    B, _, R, _ = x.shape
    out = x.clone()
    kind = torch.randint(0, 4, (B,), generator=g)                     # 0 keep, 1-2 down-up, 3 blur
    for low in (R // 4, R // 2):
        m = (kind == 1) if low == R // 4 else (kind == 2)
        if m.any():
            small = F.interpolate(x[m], size=low, mode="area")
            out[m] = F.interpolate(small, size=R, mode="bilinear", align_corners=False)
    m = kind == 3
    if m.any():
        k = torch.tensor([1.0, 2.0, 1.0])
        k = (k[:, None] * k[None, :] / 16).expand(3, 1, 3, 3)
        out[m] = F.conv2d(F.pad(x[m], (1, 1, 1, 1), mode="replicate"), k, groups=3)
    return out


def judge_views(x: torch.Tensor, g: torch.Generator, out_res: int) -> torch.Tensor:
    """(B, 3, H, H) in [-1, 1] -> (B, 3, out_res, out_res) augmented views, in [-1, 1]."""
    x = _affine(x, g)
    x = _colour(x, g)
    flip = torch.rand(len(x), generator=g) < 0.5
    x = torch.where(flip[:, None, None, None], x.flip(-1), x)
    x = _soften(x, g)
    if x.shape[-1] != out_res:
        x = F.interpolate(x, size=out_res, mode="area")
    noise = torch.rand(len(x), 1, 1, 1, generator=g) * 0.12
    return (x + noise * torch.randn(x.shape, generator=g)).clamp(-1, 1)
