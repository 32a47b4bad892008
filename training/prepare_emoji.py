"""Prepare the emoji dataset into training/.cache/emoji64.npz (images composited on white, captions, splits)."""
import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from unclip.data_emoji import load_emoji  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))

if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--node-modules", default=os.path.join(HERE, "..", "node_modules"))
    ap.add_argument("--out", default=os.path.join(HERE, ".cache", "emoji64.npz"))
    args = ap.parse_args()
    t0 = time.time()
    images, caps, ids, styles, held = load_emoji(args.node_modules)
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    np.savez_compressed(args.out, images=images, captions=np.array(caps), concepts=np.array(ids),
                        styles=np.array(styles), held_out=held)
    print(f"{len(images)} images ({held.sum()} held-out twitter-style pairs) -> {args.out} "
          f"({os.path.getsize(args.out) / 1e6:.1f} MB) in {time.time() - t0:.0f}s")
