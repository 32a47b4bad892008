"""Pack the rasterized emoji (training/rasterize_emoji.ts -> training/.cache/emoji256/) compactly
for training, into training/.cache/pack/ (ignored):

  emoji64.npz     every generator image at 64 px (the decoder's resolution), captions, concepts
  emoji256.npz    a style-stratified subset at 256 px as WebP bytes (the upsampler's crops)
  emoji256_heldout.npz  a disjoint subset at 256 px, never trained on (the upsampler's evaluation)
  judge64.npz     the judge-only sets (JUDGE_SETS) at 64 px, for the independent judge only
  tokenizer.json  the BPE tokenizer trained on every caption (one file for Python, edge, runner)

  npx tsx training/rasterize_emoji.ts && python3 training/prepare_emoji.py
  python3 training/prepare_emoji.py --judge-only   # only judge64.npz (after drawing JUDGE_SETS)
"""
import argparse
import io
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from unclip.bpe import BPETokenizer  # noqa: E402
from unclip.data_emoji import (GENERATOR_SETS, JUDGE_SETS, STYLES, UNSEEN_STYLE, captions_for,  # noqa: E402
                               emoji_meta, held_out_concepts, load_raster_index, plain_label)
from unclip.dataset import PACK  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def square(im, size):
    """Pad to a white square (a few sets draw non-square icons), then resize."""
    from PIL import Image
    im = im.convert("RGB")
    side = max(im.size)
    if im.size != (side, side):
        canvas = Image.new("RGB", (side, side), "white")
        canvas.paste(im, ((side - im.size[0]) // 2, (side - im.size[1]) // 2))
        im = canvas
    return im if side == size else im.resize((size, size), Image.BOX if side % size == 0 else Image.LANCZOS)


def pack_judge(rows: list, meta: dict, raster: str, out: str) -> int:
    """judge64.npz: every picture of a judge-only set at 64 px, its concept and set."""
    from PIL import Image
    judge = [r for r in rows if r["set"] in JUDGE_SETS]
    images = [np.asarray(square(Image.open(os.path.join(raster, r["set"], r["hexcode"] + ".png")), 64)) for r in judge]
    np.savez_compressed(os.path.join(out, "judge64.npz"), images=np.stack(images),
                        concepts=np.array([meta[r["hexcode"]]["concept"] for r in judge]),
                        sets=np.array([r["set"] for r in judge]))
    return len(judge)


def main(argv=None):
    from PIL import Image
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--node-modules", default=os.path.join(HERE, "..", "node_modules"))
    ap.add_argument("--raster", default=os.path.join(HERE, ".cache", "emoji256"))
    ap.add_argument("--out", default=PACK)
    ap.add_argument("--hi-per-style", type=int, default=600, help="256 px images per style for the upsampler")
    ap.add_argument("--hi-heldout-per-style", type=int, default=30,
                    help="256 px images per style held out from the upsampler (its own evaluation)")
    ap.add_argument("--webp-quality", type=int, default=90)
    ap.add_argument("--context-length", type=int, default=32)
    ap.add_argument("--vocab-size", type=int, default=4096)
    ap.add_argument("--judge-only", action="store_true", help="write only judge64.npz")
    args = ap.parse_args(argv)
    t0 = time.time()
    meta = emoji_meta(args.node_modules)
    rows = [r for r in load_raster_index(args.raster) if r["hexcode"] in meta]
    os.makedirs(args.out, exist_ok=True)
    if args.judge_only:
        n = pack_judge(rows, meta, args.raster, args.out)
        print(f"{n} judge images -> {args.out}/judge64.npz; {time.time() - t0:.0f}s")
        return
    gen = [r for r in rows if r["set"] in GENERATOR_SETS]
    held = held_out_concepts([meta[r["hexcode"]]["concept"] for r in gen])
    rng = np.random.default_rng(0)

    def load(r, size):
        return np.asarray(square(Image.open(os.path.join(args.raster, r["set"], r["hexcode"] + ".png")), size))

    images = np.stack([load(r, 64) for r in gen])
    captions = [captions_for(meta[r["hexcode"]]["label"], meta[r["hexcode"]]["tags"], STYLES[r["set"]][0]) for r in gen]
    concepts = [meta[r["hexcode"]]["concept"] for r in gen]
    held_out = np.array([r["set"] == UNSEEN_STYLE and c in held for r, c in zip(gen, concepts)])
    np.savez_compressed(os.path.join(args.out, "emoji64.npz"), images=images,
                        captions=np.array(json.dumps(captions)), concepts=np.array(concepts),
                        hexcodes=np.array([r["hexcode"] for r in gen]), sets=np.array([r["set"] for r in gen]),
                        held_out=held_out)
    # upsampler subset: the same number per style, never a held-out pair; a disjoint held-out
    # subset per style is drawn from what is left, so the upsampler's own evaluation never sees
    # an image it trained on (emoji256_heldout.npz, same layout)
    hi_idx, hi_heldout = [], []
    for s in GENERATOR_SETS:
        pool = [i for i, r in enumerate(gen) if r["set"] == s and not held_out[i]]
        picked = rng.choice(pool, size=min(args.hi_per_style, len(pool)), replace=False).tolist()
        hi_idx += sorted(picked)
        rest = sorted(set(pool) - set(picked))
        hi_heldout += sorted(rng.choice(rest, size=min(args.hi_heldout_per_style, len(rest)), replace=False).tolist())

    def save_webp(name, idx):
        blobs = []
        for i in idx:
            buf = io.BytesIO()
            square(Image.open(os.path.join(args.raster, gen[i]["set"], gen[i]["hexcode"] + ".png")), 256).save(
                buf, "WEBP", quality=args.webp_quality, method=4)
            blobs.append(buf.getvalue())
        offsets = np.cumsum([0] + [len(b) for b in blobs])
        np.savez(os.path.join(args.out, name), webp=np.frombuffer(b"".join(blobs), np.uint8),
                 offsets=offsets, index=np.array(idx))

    save_webp("emoji256.npz", hi_idx)
    save_webp("emoji256_heldout.npz", hi_heldout)
    n_judge = pack_judge(rows, meta, args.raster, args.out)
    with open(os.path.join(args.out, "meta.json"), "w", encoding="utf-8") as f:
        json.dump({h: {"label": m["label"], "concept": m["concept"], "emoji": m["emoji"]} for h, m in meta.items()},
                  f, ensure_ascii=False)
    # one BPE over every caption; emoji in prompts are named by their CLDR name. Skin-toned forms
    # need no entry of their own: the emoji and the tone modifier are each named.
    names = {m["emoji"]: plain_label(m["label"]) for h, m in meta.items() if m["concept"] == h}
    texts = [c for cs in captions for c in cs]
    BPETokenizer.train(texts, args.context_length, args.vocab_size, names).save(os.path.join(args.out, "tokenizer.json"))
    sizes = {f: os.path.getsize(os.path.join(args.out, f)) / 1e6 for f in sorted(os.listdir(args.out))}
    n_concepts = len(set(concepts))
    print(f"{len(gen)} generator images of {n_concepts} concepts in {len(GENERATOR_SETS)} styles "
          f"({int(held_out.sum())} held-out {UNSEEN_STYLE} pairs), {len(hi_idx)} at 256 px (+{len(hi_heldout)} held out), {n_judge} judge images; "
          + ", ".join(f"{k} {v:.1f} MB" for k, v in sizes.items()) + f"; {time.time() - t0:.0f}s")


if __name__ == "__main__":
    main()
