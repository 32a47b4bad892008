"""Pack a run directory into one file (EMA weights in fp16, configs, tokenizer, log) small enough
to bring back from a GPU machine, or unpack such a file into a run directory for export/eval.

  python3 training/pack_run.py --run-dir training/runs/emoji-gpu --out emoji-gpu.pt
  python3 training/pack_run.py --unpack emoji-gpu.pt --run-dir training/runs/emoji-gpu
"""
import argparse
import os

import torch

STAGES = ("clip", "prior", "decoder", "upsampler")
KEEP = ("config", "stage", "step", "elapsed", "params", "device")

if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run-dir", required=True)
    ap.add_argument("--out")
    ap.add_argument("--unpack")
    args = ap.parse_args()
    if args.unpack:
        pack = torch.load(args.unpack, map_location="cpu", weights_only=False)
        os.makedirs(args.run_dir, exist_ok=True)
        with open(os.path.join(args.run_dir, "tokenizer.json"), "w", encoding="utf-8") as f:
            f.write(pack["tokenizer"])
        with open(os.path.join(args.run_dir, "train.log"), "a") as f:
            f.write(pack.get("log", ""))
        for stage, ck in pack["stages"].items():
            torch.save(ck, os.path.join(args.run_dir, f"{stage}.pt"))
        print(f"unpacked {sorted(pack['stages'])} -> {args.run_dir}")
    else:
        stages = {}
        for s in STAGES:
            p = os.path.join(args.run_dir, f"{s}.pt")
            if os.path.exists(p):
                ck = torch.load(p, map_location="cpu", weights_only=False)
                stages[s] = {k: ck[k] for k in KEEP if k in ck}
                stages[s]["ema"] = {k: (v.half() if v.is_floating_point() else v) for k, v in ck["ema"].items()}
        log_path = os.path.join(args.run_dir, "train.log")
        pack = {"tokenizer": open(os.path.join(args.run_dir, "tokenizer.json"), encoding="utf-8").read(),
                "log": open(log_path).read() if os.path.exists(log_path) else "", "stages": stages}
        torch.save(pack, args.out)
        print(f"packed {sorted(stages)} -> {args.out} ({os.path.getsize(args.out) / 1e6:.1f} MB)")
