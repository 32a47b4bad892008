"""Generate a labelled grid for any prompts with a trained run (the full pipeline, upsampled).

  python3 training/sample.py --run-dir training/runs/emoji-gpu --out grid.png "google style red apple" "twitter style dog face"
"""
import argparse
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from eval import sample_grid, to_uint8  # noqa: E402
from unclip.checkpoint import load_pipeline  # noqa: E402

if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("prompts", nargs="+")
    ap.add_argument("--run-dir", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--steps", type=int, default=25)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=0)
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    pipe = load_pipeline(args.run_dir)
    unk = [p for p in args.prompts if 1 in pipe.tok.encode(p)]
    if unk:
        print(f"warning: words outside the vocabulary ([UNK]) in: {unk}")
    _, high = pipe.generate(args.prompts, seed=args.seed, steps=args.steps, prior_steps=args.steps)
    sample_grid(to_uint8(high), args.prompts, args.out)
    print(f"wrote {args.out}")
