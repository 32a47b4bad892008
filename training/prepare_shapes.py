"""Render the synthetic shapes dataset for a config into training/.cache/shapes<H>_<N>.npz (train + seen/unseen eval splits)."""
import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from unclip.config import get_config  # noqa: E402
from unclip.dataset import prepare_shapes, shapes_path  # noqa: E402

if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--config", default="cpu", choices=("tiny", "cpu", "gpu"))
    ap.add_argument("--force", action="store_true")
    args = ap.parse_args()
    cfg = get_config("shapes", args.config)
    path = shapes_path(cfg.upsampler.resolution, cfg.n_train)
    if os.path.exists(path) and not args.force:
        print(f"{path} exists")
    else:
        t0 = time.time()
        prepare_shapes(cfg.upsampler.resolution, cfg.n_train, path)
        print(f"{cfg.n_train} scenes at {cfg.upsampler.resolution} px -> {path} "
              f"({os.path.getsize(path) / 1e6:.1f} MB) in {time.time() - t0:.0f}s")
