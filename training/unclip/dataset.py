"""One interface over both datasets: uint8 images (shapes: at the upsampler's resolution; emoji:
at 64 px, the decoder's, with a 256 px subset for the upsampler), captions (one canonical caption
per image plus, for emoji, every caption a training step may draw), concepts for sampling by
concept, the training indices and eval splits."""
import io
import json
import os
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from .config import BundleConfig

CACHE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), ".cache")
PACK = os.environ.get("UNCLIP_PACK", os.path.join(CACHE, "pack"))


@dataclass
class TrainingData:
    images: np.ndarray   # (N, H, H, 3) uint8; H is a multiple of the decoder's resolution
    captions: list       # N canonical captions (eval, goldens)
    train_idx: np.ndarray  # indices used for training
    evals: dict          # split name -> {"idx": indices into images, "attrs": list | None}
    sources: list        # licence records for the manifest
    caption_lists: list = None  # N lists: a training step draws one at random (None: the canonical one)
    concepts: np.ndarray = None  # (N,) concept id per image: sampling and CLIP positives (None: caption)
    hi_images: np.ndarray = None  # (M, 256, 256, 3) upsampler targets (None: images are the targets)
    tokenizer_path: str = None  # a tokenizer.json shipped with the data (None: train one on the captions)

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


def load_data(cfg: BundleConfig, hi_res: bool = True) -> TrainingData:
    """hi_res=False leaves emoji's 256 px upsampler set unloaded (hi_images None): the other
    stages never read it, and a GPU call that trains them need not carry emoji256.npz."""
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
    return load_emoji_pack(PACK, hi_res)


def decode_webp(data: bytes) -> np.ndarray:
    """(H, W, 3) uint8; PIL where present, else torchvision (a bare GPU machine may lack one)."""
    try:
        from PIL import Image
        return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
    except ImportError:
        from torchvision.io import ImageReadMode, decode_image
        t = decode_image(torch.frombuffer(bytearray(data), dtype=torch.uint8), mode=ImageReadMode.RGB)
        return t.permute(1, 2, 0).numpy()


def load_emoji_pack(pack: str, hi_res: bool = True) -> TrainingData:
    from .data_emoji import SOURCES
    path = os.path.join(pack, "emoji64.npz")
    assert os.path.exists(path), f"{path} missing: run training/rasterize_emoji.ts and training/prepare_emoji.py"
    z = np.load(path)
    lists = json.loads(str(z["captions"]))
    held = z["held_out"]
    hi_images = load_hi_images(os.path.join(pack, "emoji256.npz")) if hi_res else None
    rng = np.random.default_rng(0)
    seen_pool = np.nonzero(~held)[0]
    # seen eval: pairs that are also trained on (generation quality on the training distribution)
    seen = np.sort(rng.choice(seen_pool, size=min(200, len(seen_pool)), replace=False))
    ev = {"seen": {"idx": seen, "attrs": None}, "unseen": {"idx": np.nonzero(held)[0], "attrs": None}}
    return TrainingData(z["images"], [c[4] if len(c) > 4 else c[0] for c in lists], seen_pool, ev, SOURCES,
                        caption_lists=lists, concepts=z["concepts"], hi_images=hi_images,
                        tokenizer_path=os.path.join(pack, "tokenizer.json"))


def load_hi_images(path: str) -> np.ndarray:
    """(M, 256, 256, 3) uint8 upsampler targets, stored as WebP."""
    assert os.path.exists(path), f"{path} missing: run training/prepare_emoji.py (only the upsampler needs it)"
    hi = np.load(path)
    off = hi["offsets"]
    blob = hi["webp"].tobytes()
    return np.stack([decode_webp(blob[off[k]:off[k + 1]]) for k in range(len(off) - 1)])


def to_tensor(images_u8: torch.Tensor) -> torch.Tensor:
    """(B, H, W, 3) uint8 -> (B, 3, H, W) float in [-1, 1]."""
    return images_u8.permute(0, 3, 1, 2).float() / 127.5 - 1.0


def downsample(x: torch.Tensor, factor: int) -> torch.Tensor:
    return F.avg_pool2d(x, factor) if factor > 1 else x
