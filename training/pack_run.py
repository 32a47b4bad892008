"""Pack a run directory into one file (EMA weights in fp16, configs, tokenizer, log) small enough
to bring back from a GPU machine, or unpack such a file into a run directory for export/eval.
The file is written in parts of at most --part-mb MB (OUT.000, OUT.001, ...): a GPU session
returns files of at most 16 MiB.

  python3 training/pack_run.py --run-dir training/runs/emoji-gpu --out emoji-gpu.pt
  python3 training/pack_run.py --unpack emoji-gpu.pt --run-dir training/runs/emoji-gpu
"""
import argparse
import glob
import io
import os

import torch

STAGES = ("clip", "prior", "decoder", "upsampler")
KEEP = ("config", "stage", "step", "elapsed", "params", "device")


def read_parts(path: str) -> bytes:
    parts = sorted(glob.glob(glob.escape(path) + ".[0-9][0-9][0-9]"))
    if not parts:
        return open(path, "rb").read()
    return b"".join(open(p, "rb").read() for p in parts)


def write_parts(data: bytes, path: str, part_mb: float) -> list:
    for old in glob.glob(glob.escape(path) + ".[0-9][0-9][0-9]"):
        os.remove(old)
    size = int(part_mb * 1e6)
    names = []
    for k in range(0, max(len(data), 1), size):
        names.append(f"{path}.{k // size:03d}")
        with open(names[-1], "wb") as f:
            f.write(data[k:k + size])
    return names


def pack(run_dir: str) -> dict:
    stages = {}
    for s in STAGES:
        p = os.path.join(run_dir, f"{s}.pt")
        if os.path.exists(p):
            ck = torch.load(p, map_location="cpu", weights_only=False)
            stages[s] = {k: ck[k] for k in KEEP if k in ck}
            stages[s]["ema"] = {k: (v.half() if v.is_floating_point() else v) for k, v in ck["ema"].items()}
    log_path = os.path.join(run_dir, "train.log")
    return {"tokenizer": open(os.path.join(run_dir, "tokenizer.json"), encoding="utf-8").read(),
            "log": open(log_path).read() if os.path.exists(log_path) else "", "stages": stages}


def unpack(pack: dict, run_dir: str):
    os.makedirs(run_dir, exist_ok=True)
    with open(os.path.join(run_dir, "tokenizer.json"), "w", encoding="utf-8") as f:
        f.write(pack["tokenizer"])
    with open(os.path.join(run_dir, "train.log"), "a") as f:
        f.write(pack.get("log", ""))
    for stage, ck in pack["stages"].items():
        torch.save(ck, os.path.join(run_dir, f"{stage}.pt"))


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run-dir", required=True)
    ap.add_argument("--out")
    ap.add_argument("--unpack")
    ap.add_argument("--part-mb", type=float, default=15.0)
    args = ap.parse_args()
    if args.unpack:
        p = torch.load(io.BytesIO(read_parts(args.unpack)), map_location="cpu", weights_only=False)
        unpack(p, args.run_dir)
        print(f"unpacked {sorted(p['stages'])} (steps {[p['stages'][s]['step'] for s in sorted(p['stages'])]}) -> {args.run_dir}")
    else:
        buf = io.BytesIO()
        p = pack(args.run_dir)
        torch.save(p, buf)
        names = write_parts(buf.getvalue(), args.out, args.part_mb)
        print(f"packed {sorted(p['stages'])} -> {len(names)} part(s) {args.out}.* ({len(buf.getvalue()) / 1e6:.1f} MB)")
