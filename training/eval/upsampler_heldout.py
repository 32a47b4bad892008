"""The upsampler on its own, on 256 px emoji it never trained on (emoji256_heldout.npz, split off
by prepare_emoji.py before it trained): downsample each to the decoder's 64 px, upsample it back
with the model and with bicubic, and compare both with the real image.

  PSNR             on 8-bit RGB against the real 256 px image (higher is better)
  judge cosine     cosine between the judge CLIP's image embeddings of the output and of the
                   real image (how much of what the judge recognises survives), when --judge is given
  high-freq ratio  energy of the output's Laplacian over the real image's (1.0 = as sharp as the
                   original; bicubic is blurry, < 1)

  /usr/bin/python3 training/eval/upsampler_heldout.py --run-dir training/checkpoints/emoji-v2 \
      --judge training/eval/judge_image.onnx --out training/eval/upsampler_heldout

writes <out>.json (figures per style and overall) and <out>.png (real | 64 px input | bicubic | model).
"""
import argparse
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
from unclip.blas import blas_line  # noqa: E402
from unclip.checkpoint import load_stage  # noqa: E402
from unclip.dataset import PACK, decode_webp, to_tensor  # noqa: E402
from unclip.diffusion import Diffusion, sample  # noqa: E402
from unclip.upsampler import degrade  # noqa: E402


def load_heldout(pack: str):
    """(N, 256, 256, 3) uint8 and the set (style) of each image."""
    z = np.load(os.path.join(pack, "emoji256_heldout.npz"))
    off, blob = z["offsets"], z["webp"].tobytes()
    images = np.stack([decode_webp(blob[off[k]:off[k + 1]]) for k in range(len(off) - 1)])
    sets = np.load(os.path.join(pack, "emoji64.npz"))["sets"][z["index"]]
    return images, [str(s) for s in sets]


def to_u8(x: torch.Tensor) -> np.ndarray:
    """(B, 3, H, W) in [-1, 1] -> (B, H, W, 3) uint8, rounded as a PNG encoder would see it."""
    return ((x.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()


def psnr(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    mse = ((a.astype(np.float64) - b.astype(np.float64)) ** 2).reshape(len(a), -1).mean(1)
    return 10 * np.log10(255.0 ** 2 / np.maximum(mse, 1e-10))


def high_freq(u8: np.ndarray) -> np.ndarray:
    """Mean squared Laplacian per image (grey)."""
    g = torch.from_numpy(u8).float().mean(-1)[:, None]
    k = torch.tensor([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]])[None, None]
    return F.conv2d(g, k).pow(2).flatten(1).mean(1).numpy()


class JudgeImageEncoder:
    """The committed judge's image tower (ONNX): uint8 images -> unit embeddings. Its input size
    and normalisation are read from the judge card beside it when present."""

    def __init__(self, path: str):
        import onnxruntime as ort
        self.sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
        self.input = self.sess.get_inputs()[0]
        self.res = int(self.input.shape[-1])

    def __call__(self, u8: np.ndarray) -> np.ndarray:
        x = to_tensor(torch.from_numpy(u8))
        x = F.interpolate(x, size=(self.res, self.res), mode="area")
        (e,) = self.sess.run(None, {self.input.name: x.numpy().astype(np.float32)})[:1]
        return e / np.linalg.norm(e, axis=1, keepdims=True)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run-dir", required=True,
                    help="a folder with upsampler.pt: a training run or the committed training/checkpoints/emoji-v2")
    ap.add_argument("--pack", default=PACK)
    ap.add_argument("--judge", default=None, help="the judge's image encoder ONNX (optional)")
    ap.add_argument("--steps", type=int, default=None, help="default: the bundle config's upsampler steps")
    ap.add_argument("--sampler", default=None, help="default: the bundle config's sampler")
    ap.add_argument("--limit", type=int, default=0, help="evaluate N held-out images spread over the styles")
    ap.add_argument("--sheet", type=int, default=8, help="rows on the before/after sheet")
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--out", default=os.path.join(HERE, "upsampler_heldout"))
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    print(blas_line(), flush=True)
    model, cfg, ck = load_stage(args.run_dir, "upsampler")
    steps = args.steps or cfg.default_steps["upsampler"]
    sampler = args.sampler or cfg.sampler
    hi_u8, sets = load_heldout(args.pack)
    if args.limit and args.limit < len(hi_u8):  # evenly over the file, so every style keeps its share
        keep = np.linspace(0, len(hi_u8) - 1, args.limit).round().astype(int)
        hi_u8, sets = hi_u8[keep], [sets[j] for j in keep]
    factor = cfg.upsampler.resolution // cfg.upsampler.low_res
    assert hi_u8.shape[1] == cfg.upsampler.resolution, f"held-out images are {hi_u8.shape[1]} px, the model makes {cfg.upsampler.resolution}"
    diff = Diffusion("cosine", cfg.upsampler.timesteps, "v")
    t0 = time.time()
    lows, bicubic, model_out = [], [], []
    g = torch.Generator().manual_seed(0)
    for i in range(0, len(hi_u8), 16):
        hi = to_tensor(torch.from_numpy(hi_u8[i:i + 16]))
        low = degrade(hi, factor, train=False)
        lows.append(to_u8(low))
        bicubic.append(to_u8(F.interpolate(low, scale_factor=float(factor), mode="bicubic", align_corners=False)))
        with torch.no_grad():
            out = sample(sampler, lambda x, t, cond: model(x, t, low), tuple(hi.shape), diff, steps, 1.0, generator=g)
        model_out.append(to_u8(out))
        print(f"{i + len(hi)}/{len(hi_u8)} images ({time.time() - t0:.0f}s)", flush=True)
    low_u8, bic_u8, mod_u8 = (np.concatenate(a) for a in (lows, bicubic, model_out))
    rows = {"bicubic": bic_u8, "model": mod_u8}
    per = {k: {"psnr": psnr(v, hi_u8), "high_freq_ratio": high_freq(v) / np.maximum(high_freq(hi_u8), 1e-9)}
           for k, v in rows.items()}
    if args.judge:
        judge = JudgeImageEncoder(args.judge)
        real = judge(hi_u8)
        for k, v in rows.items():
            per[k]["judge_cosine"] = (judge(v) * real).sum(1)
    styles = sorted(set(sets))
    summary = {
        "checkpoint": os.path.relpath(args.run_dir), "step": ck.get("step"), "samples_seen": ck.get("step", 0) * ck["config"]["train"]["upsampler"]["batch_size"],
        "images": len(hi_u8), "sampler": sampler, "steps": steps, "judge": args.judge and os.path.relpath(args.judge),
        "overall": {k: {m: float(np.mean(v)) for m, v in d.items()} for k, d in per.items()},
        "per_style": {s: {k: {m: float(np.mean(v[[j for j, x in enumerate(sets) if x == s]])) for m, v in d.items()}
                          for k, d in per.items()} for s in styles},
        "seconds": round(time.time() - t0, 1),
    }
    with open(args.out + ".json", "w") as f:
        json.dump(summary, f, indent=2)
    # the sheet: one row per image, spread over the styles: real | 64 px input (nearest) | bicubic | model
    from PIL import Image
    pick = [j for s in styles for j in [x for x, y in enumerate(sets) if y == s][:max(1, args.sheet // len(styles))]]
    pick = pick[:args.sheet]
    H = hi_u8.shape[1]
    sheet = Image.new("RGB", (4 * H, len(pick) * H), "white")
    for r, j in enumerate(pick):
        cells = [hi_u8[j], np.asarray(Image.fromarray(low_u8[j]).resize((H, H), Image.NEAREST)), bic_u8[j], mod_u8[j]]
        for c, cell in enumerate(cells):
            sheet.paste(Image.fromarray(cell), (c * H, r * H))
    sheet.save(args.out + ".png", optimize=True)
    o = summary["overall"]
    print(json.dumps(o, indent=1))
    print(f"-> {args.out}.json, {args.out}.png ({len(pick)} rows: real | 64 px input | bicubic | model)")


if __name__ == "__main__":
    main()
