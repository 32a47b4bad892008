"""Samples/s of one training step (forward, backward, AdamW) of a v2 network on the CPU, fp32
against bf16 autocast, interleaved (A B A B ...) so a busy machine's drift hits both alike.
Wall-clock and process-CPU figures are both printed: on a shared machine the second is the
steadier one.

  python3 training/bench_train_step.py --stage upsampler --batch 64 --crop 64 --threads 2 --rounds 3
"""
import argparse
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from unclip.blas import blas_line  # noqa: E402
from unclip.checkpoint import build_model  # noqa: E402
from unclip.config import get_config  # noqa: E402
from unclip.diffusion import Diffusion  # noqa: E402
from unclip.upsampler import degrade  # noqa: E402


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--stage", choices=("upsampler", "decoder"), default="upsampler")
    ap.add_argument("--config", default="gpu")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--crop", type=int, default=64, help="upsampler: crop of the 256 px target")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--steps", type=int, default=3, help="timed steps per mode and round")
    ap.add_argument("--modes", nargs="+", default=["fp32", "bf16"], choices=("fp32", "bf16", "fp32-cl", "bf16-cl"))
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    print(blas_line(), flush=True)
    cfg = get_config("emoji", args.config)
    cfg.clip.vocab_size = 4096
    model = build_model(args.stage, cfg)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    c = cfg.upsampler if args.stage == "upsampler" else cfg.decoder
    diff = Diffusion("cosine", c.timesteps, "v")
    B = args.batch
    R = args.crop if args.stage == "upsampler" else c.resolution
    x0 = torch.rand(B, 3, R, R) * 2 - 1
    if args.stage == "upsampler":
        f = cfg.upsampler.resolution // cfg.upsampler.low_res
        cond = lambda x: {"low_res": degrade(x, f, train=True)}  # noqa: E731
    else:
        L, W = c.context_length, c.text_width
        cond = lambda x: {"image_embed": torch.randn(B, c.embed_dim), "text_tokens": torch.randn(B, L, W),  # noqa: E731
                          "text_mask": torch.ones(B, L)}

    def step(mode):
        x = x0.contiguous(memory_format=torch.channels_last) if mode.endswith("-cl") else x0
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=mode.startswith("bf16")):
            loss = diff.loss(model, x, **cond(x))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    res = {m: [] for m in args.modes}
    for r in range(args.rounds):
        for mode in args.modes:
            model.to(memory_format=torch.channels_last if mode.endswith("-cl") else torch.contiguous_format)
            step(mode)  # warm-up (oneDNN primitive creation)
            t, cpu = time.time(), time.process_time()
            for _ in range(args.steps):
                step(mode)
            wall, cpu = time.time() - t, time.process_time() - cpu
            res[mode].append((B * args.steps / wall, B * args.steps / cpu))
            print(f"round {r} {mode}: {res[mode][-1][0]:.1f} samples/s wall, {res[mode][-1][1]:.1f} per CPU-second", flush=True)
    for mode, v in res.items():
        w = sorted(a for a, _ in v)[len(v) // 2]
        c_ = sorted(b for _, b in v)[len(v) // 2]
        print(f"{args.stage} batch {B} at {R} px, {mode}: median {w:.1f} samples/s wall, {c_:.1f} per CPU-second")
    return res


if __name__ == "__main__":
    main()
