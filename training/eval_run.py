"""Evaluate a trained run and write eval.json + samples.png (into --out, usually the bundle dir).

Figures: CLIP text->image retrieval R@1 on held-out pairs (chunks of 100); generation
R-precision@1 (the generated image's CLIP embedding retrieves its own prompt among 100
captions); shapes: detector accuracy per attribute on held-out prompts, seen vs never-seen
(colour, shape) combinations; variations: CLIP cosine between an input and its variation.
"""
import argparse
import json
import os
import sys
import textwrap
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from unclip.checkpoint import load_pipeline  # noqa: E402
from unclip.data_shapes import detect, score  # noqa: E402
from unclip.dataset import downsample, load_data, to_tensor  # noqa: E402


def to_uint8(x: torch.Tensor) -> np.ndarray:
    """(B,3,H,W) [-1,1] -> (B,H,W,3) uint8."""
    return ((x.clamp(-1, 1) + 1) * 127.5).round().byte().permute(0, 2, 3, 1).numpy()


@torch.no_grad()
def retrieval_r1(pipe, images, captions, chunk=100):
    """Text->image R@1 over chunks of `chunk` pairs; a hit is any image whose caption is the query's."""
    hits, n = 0, 0
    for i in range(0, len(captions), chunk):
        caps = captions[i:i + chunk]
        if len(caps) < 2:
            break
        te, _, _ = pipe.encode_text(caps)
        ie = pipe.clip.encode_image(images[i:i + chunk])
        best = (te @ ie.t()).argmax(1)
        hits += sum(caps[j] == caps[int(best[j])] for j in range(len(caps)))
        n += len(caps)
    return hits / max(n, 1), n


@torch.no_grad()
def r_precision(pipe, gen_low, candidates):
    """Generated image i (prompt candidates[i]) -> is its own caption the best of all candidates by CLIP cosine?"""
    te, _, _ = pipe.encode_text(candidates)
    ie = pipe.clip.encode_image(gen_low)
    return float(((ie @ te.t()).argmax(1) == torch.arange(len(gen_low))).float().mean())


def sample_grid(images_u8: np.ndarray, captions: list, path: str, cols: int = 4, cell: int = 128):
    from PIL import Image, ImageDraw, ImageFont
    rows = (len(images_u8) + cols - 1) // cols
    text_h = 46
    grid = Image.new("RGB", (cols * cell, rows * (cell + text_h)), "white")
    draw = ImageDraw.Draw(grid)
    font = ImageFont.load_default()
    for i, (im, cap) in enumerate(zip(images_u8, captions)):
        r, c = divmod(i, cols)
        x, y = c * cell, r * (cell + text_h)
        grid.paste(Image.fromarray(im).resize((cell, cell), Image.NEAREST), (x, y))
        for k, line in enumerate(textwrap.wrap(cap, width=cell // 7)[:4]):  # default font ~6 px/char
            draw.text((x + 2, y + cell + 1 + k * 11), line, fill="black", font=font)
    grid.save(path)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--run-dir", required=True)
    ap.add_argument("--out", required=True, help="directory for eval.json and samples.png")
    ap.add_argument("--n", type=int, default=96, help="generated images per split")
    ap.add_argument("--candidates", type=int, default=100, help="distinct captions each image is ranked among")
    ap.add_argument("--steps", type=int, default=10, help="DDIM steps of prior and decoder (runner default 25)")
    ap.add_argument("--threads", type=int, default=0)
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    t0 = time.time()
    pipe = load_pipeline(args.run_dir)
    cfg = pipe.cfg
    data = load_data(cfg, hi_res=False)  # decoder-resolution images and splits; not the 256 px set
    factor = data.images.shape[1] // cfg.decoder.resolution  # stored images -> decoder resolution
    res = {"bundle_config": f"{cfg.data}-{cfg.name}", "steps": args.steps, "splits": {}}
    grid_imgs, grid_caps = [], []
    for split, ev in data.evals.items():
        # a seeded shuffle: the splits are stored in emoji-code order (keycaps and flags first)
        idx = ev["idx"][np.random.default_rng(0).permutation(len(ev["idx"]))]
        attrs = [ev["attrs"][k] for k in np.random.default_rng(0).permutation(len(ev["idx"]))] if ev["attrs"] else None
        caps_all = [data.captions[i] for i in idx]
        imgs = downsample(to_tensor(torch.from_numpy(data.images[idx])), factor)
        r1, n_r1 = retrieval_r1(pipe, imgs, caps_all)
        # R-precision: each generated image ranks its own caption among `candidates` distinct
        # captions of the split (its own + the others); images are generated for the first n
        seen_caps, pick = set(), []
        for j, c in enumerate(caps_all):
            if c not in seen_caps:
                seen_caps.add(c)
                pick.append(j)
        candidates = [caps_all[j] for j in pick[: args.candidates]]
        pick = pick[: args.n]
        caps = [caps_all[j] for j in pick]
        # metrics read the decoder's 32 px output (CLIP and the detector work there); only the
        # grid images go through the upsampler, which keeps eval affordable on 2 CPU cores
        low, _ = pipe.generate(caps, seed=1, steps=args.steps, prior_steps=args.steps, upsample=False)
        out = {"clip_retrieval_r1": r1, "clip_retrieval_pairs": n_r1, "clip_retrieval_chunk": 100,
               "generation_r_precision_at1": r_precision(pipe, low, candidates), "generation_images": len(caps),
               "generation_candidates": len(candidates)}
        if ev["attrs"] is not None:
            final = to_uint8(low)
            acc = {}
            for j, im in zip(pick, final):
                for k, v in score(attrs[j], detect(im)).items():
                    acc.setdefault(k, []).append(v)
            out["detector_accuracy"] = {k: float(np.mean(v)) for k, v in acc.items()}
            out["detector_prompts"] = len(pick)
            out["detector_resolution"] = int(low.shape[-1])
            # the detector on the real held-out images: its own ceiling
            ceil = {}
            for j in pick:
                real = to_uint8(downsample(to_tensor(torch.from_numpy(data.images[idx[j]][None])), factor))[0]
                for k, v in score(attrs[j], detect(real)).items():
                    ceil.setdefault(k, []).append(v)
            out["detector_accuracy_on_real_images"] = {k: float(np.mean(v)) for k, v in ceil.items()}
        res["splits"][split] = out
        high = pipe.upsample(low[:8], torch.Generator().manual_seed(2))
        grid_imgs += list(to_uint8(high))
        grid_caps += [("[unseen] " if split == "unseen" else "") + c for c in caps[:8]]
        print(f"[eval] {split}: {json.dumps(out)}", flush=True)
    # variations: CLIP cosine between inputs and their variations (no text)
    idx = data.evals["seen"]["idx"][:16]
    imgs = downsample(to_tensor(torch.from_numpy(data.images[idx])), factor)
    var = pipe.variations(imgs, seed=3, steps=args.steps)
    with torch.no_grad():
        a, b = pipe.clip.encode_image(imgs), pipe.clip.encode_image(var)
    res["variations"] = {"clip_cosine_mean": float((a * b).sum(1).mean()),
                         "clip_cosine_random_pairs": float((a * b.roll(1, 0)).sum(1).mean()), "n": len(idx)}
    print(f"[eval] variations: {json.dumps(res['variations'])}", flush=True)
    res["eval_seconds"] = round(time.time() - t0, 1)
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "eval.json"), "w") as f:
        json.dump(res, f, indent=2)
    sample_grid(np.stack(grid_imgs), grid_caps, os.path.join(args.out, "samples.png"))
    print(f"[eval] wrote {args.out}/eval.json and samples.png in {res['eval_seconds']}s")
    return res


if __name__ == "__main__":
    main()
