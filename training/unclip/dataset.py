"""One interface over both datasets: high-res uint8 images (the upsampler's target; the decoder's
base resolution is their 2x area downsample), captions, the training indices and eval splits."""
import json
import os
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from .config import BundleConfig

CACHE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), ".cache")


@dataclass
class TrainingData:
    images: np.ndarray   # (N, H, H, 3) uint8 at the upsampler's resolution
    captions: list       # N captions
    train_idx: np.ndarray  # indices used for training
    evals: dict          # split name -> {"idx": indices into images, "attrs": list | None}
    sources: list        # licence records for the manifest

    def all_captions(self) -> list:
        return list(self.captions)


def shapes_path(hi: int, n: int) -> str:
    return os.path.join(CACHE, f"shapes{hi}_{n}.npz")


def prepare_shapes(hi: int, n: int, path: str = None) -> str:
    from .data_shapes import make_split
    path = path or shapes_path(hi, n)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tr = make_split(n, hi, seed=1, held_out="exclude")
    seen = make_split(200, hi, seed=2, held_out="exclude")
    unseen = make_split(200, hi, seed=3, held_out="only")
    images = np.concatenate([tr[0], seen[0], unseen[0]])
    caps = tr[1] + seen[1] + unseen[1]
    split = ["train"] * n + ["seen"] * 200 + ["unseen"] * 200
    np.savez_compressed(path, images=images, captions=np.array(caps), split=np.array(split),
                        attrs=np.array(json.dumps(tr[2] + seen[2] + unseen[2])))
    return path


def load_data(cfg: BundleConfig) -> TrainingData:
    hi = cfg.upsampler.resolution
    if cfg.data == "shapes":
        path = shapes_path(hi, cfg.n_train)
        if not os.path.exists(path):
            prepare_shapes(hi, cfg.n_train, path)
        z = np.load(path)
        split = z["split"]
        attrs = json.loads(str(z["attrs"]))
        ev = {s: {"idx": np.nonzero(split == s)[0], "attrs": [attrs[i] for i in np.nonzero(split == s)[0]]}
              for s in ("seen", "unseen")}
        return TrainingData(z["images"], [str(c) for c in z["captions"]], np.nonzero(split == "train")[0], ev,
                            [{"name": "unclip-edge synthetic shapes", "license": "CC0-1.0",
                              "attribution": "Rendered by training/unclip/data_shapes.py",
                              "url": "https://example.invalid/unclip-edge"}])
    from .data_emoji import SOURCES
    path = os.path.join(CACHE, "emoji64.npz")
    assert os.path.exists(path), f"{path} missing: run python3 training/prepare_emoji.py first"
    z = np.load(path)
    images = z["images"]
    if images.shape[1] != hi:
        t = torch.from_numpy(images).permute(0, 3, 1, 2).float()
        t = F.interpolate(t, size=(hi, hi), mode="area")
        images = t.round().clamp(0, 255).byte().permute(0, 2, 3, 1).numpy()
    held = z["held_out"]
    rng = np.random.default_rng(0)
    seen_pool = np.nonzero(~held)[0]
    # seen eval: pairs that are also trained on (generation quality on the training distribution)
    seen = np.sort(rng.choice(seen_pool, size=min(200, len(seen_pool)), replace=False))
    ev = {"seen": {"idx": seen, "attrs": None}, "unseen": {"idx": np.nonzero(held)[0], "attrs": None}}
    return TrainingData(images, [str(c) for c in z["captions"]], seen_pool, ev, SOURCES)


def to_tensor(images_u8: torch.Tensor) -> torch.Tensor:
    """(B, H, W, 3) uint8 -> (B, 3, H, W) float in [-1, 1]."""
    return images_u8.permute(0, 3, 1, 2).float() / 127.5 - 1.0


def downsample(x: torch.Tensor, factor: int) -> torch.Tensor:
    return F.avg_pool2d(x, factor) if factor > 1 else x
