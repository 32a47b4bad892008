"""The real pictures the decoder-alone check starts from: renders of the everyday prompts' emoji
in a bundle's training styles, never a judge picture (the judge trains on JUDGE_SETS only). Per
prompt and style, the first base emoji of the prompt; a held-out (concept, twemoji) pair of the
pack is marked "held-out", every other picture "training" (a bundle trained on the pack saw it).

  python3 training/judge_real.py --styles noto,twemoji --no-pack-held-out --out /tmp/real  # emoji-gpu
  npx tsx training/eval/everyday.ts --model models/emoji-gpu --variations-of /tmp/real

Writes <out>/<k>-<set>.png (64 px, as packed) and <out>/index.json
[{file, prompt, set, hexcode, split}] for training/eval/everyday.ts.
"""
import argparse
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from unclip.data_emoji import GENERATOR_SETS  # noqa: E402
from unclip.dataset import PACK  # noqa: E402
from unclip.judge_data import PROMPTS, load_meta, load_npz, read_prompts, real_renders  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def pick_real(real: dict, prompts: list, styles: list) -> list:
    """[(row in `real`, prompt index, set)]: per prompt and style one render, a held-out one first."""
    out = []
    for k in range(len(prompts)):
        for s in styles:
            rows = np.flatnonzero((real["prompt"] == k) & (real["sets"] == s))
            if len(rows):
                rows = sorted(rows, key=lambda i: not real["held_out"][i])  # held-out first, stable
                out.append((int(rows[0]), k, s))
    return out


def main(argv=None):
    from PIL import Image
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pack", default=PACK)
    ap.add_argument("--node-modules", default=os.path.join(HERE, "..", "node_modules"))
    ap.add_argument("--styles", default=",".join(GENERATOR_SETS), help="comma-separated generator sets")
    ap.add_argument("--out", required=True)
    ap.add_argument("--pack-held-out", action=argparse.BooleanOptionalAction, default=True,
                    help="mark the pack's held-out twemoji pairs; --no-pack-held-out for a bundle trained on "
                         "other data (emoji-gpu: the same designs from emoji-datasource), where all are training")
    args = ap.parse_args(argv)
    styles = args.styles.split(",")
    unknown = set(styles) - set(GENERATOR_SETS)
    assert not unknown, f"--styles: {sorted(unknown)} are not generator sets ({GENERATOR_SETS})"
    prompts = read_prompts(PROMPTS)
    real = real_renders(load_npz(os.path.join(args.pack, "emoji64.npz")), load_meta(args.pack, args.node_modules),
                        prompts)
    os.makedirs(args.out, exist_ok=True)
    index = []
    for i, k, s in pick_real(real, prompts, styles):
        file = f"{k:03d}-{s}.png"
        Image.fromarray(real["images"][i]).save(os.path.join(args.out, file))
        index.append({"file": file, "prompt": k, "set": s, "hexcode": str(real["hexcodes"][i]),
                      "split": "held-out" if args.pack_held_out and real["held_out"][i] else "training"})
    with open(os.path.join(args.out, "index.json"), "w", encoding="utf-8") as f:
        json.dump(index, f, indent=0)
    held = sum(r["split"] == "held-out" for r in index)
    print(f"{len(index)} real pictures of {len({r['prompt'] for r in index})} prompts in {styles} "
          f"({held} held-out, {len(index) - held} training) -> {args.out}")


if __name__ == "__main__":
    main()
