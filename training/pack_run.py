"""Move trained stages between a run directory and a checkpoint folder of packed stages (EMA
weights in fp16 with their config, `<stage>.pt`, split into 15 MB parts `.000`, `.001`, ... when
larger, plus the run's tokenizer.json). Such a folder is what a GPU call returns in $OUT, what
training/checkpoints/<name>/ commits, what export_bundle.py reads, and what a later session
continues training from.

  python3 training/pack_run.py --run-dir training/runs/emoji-gpu --out training/checkpoints/emoji-v2 [--stages upsampler]
  python3 training/pack_run.py --unpack training/checkpoints/emoji-v2 --run-dir training/runs/emoji-gpu [--stages clip decoder]

--unpack also takes the single-file packs of earlier GPU runs (emoji-gpu.pt or its .000 parts).
"""
import argparse
import filecmp
import io
import os
import shutil
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from unclip.checkpoint import (PART_MB, load_checkpoint, pack_checkpoint, part_paths, save_packed,  # noqa: E402
                               stage_exists)

STAGES = ("clip", "prior", "decoder", "upsampler")
TEXT_STAGES = ("clip", "prior", "decoder")  # the stages that read the tokenizer's ids


def copy_tokenizer(src_dir: str, dst_dir: str, stages):
    """tokenizer.json goes with the text stages; a different one already there is an error for
    them (ids would change under a trained CLIP) and is left alone for the upsampler alone."""
    src, dst = os.path.join(src_dir, "tokenizer.json"), os.path.join(dst_dir, "tokenizer.json")
    if not os.path.exists(src):
        return
    if os.path.exists(dst) and not filecmp.cmp(src, dst, shallow=False):
        if any(s in TEXT_STAGES for s in stages):
            sys.exit(f"{dst} differs from {src}: these stages were trained with another tokenizer")
        return
    shutil.copyfile(src, dst)


def pack(run_dir: str, out_dir: str, stages, part_mb: float = PART_MB) -> dict:
    """Each stage of run_dir as a packed stage in out_dir; returns stage -> (step, files)."""
    done = {}
    for s in stages:
        if not stage_exists(run_dir, s):
            continue
        ck = load_checkpoint(os.path.join(run_dir, f"{s}.pt"))
        done[s] = (ck["step"], save_packed(out_dir, s, pack_checkpoint(ck), part_mb))
    copy_tokenizer(run_dir, out_dir, list(done))
    return done


def unpack(src: str, run_dir: str, stages) -> dict:
    """Packed stages from a folder (or an old single-file pack) into run_dir as <stage>.pt;
    returns stage -> step. train.py --resume continues them (EMA weights, fresh optimizer)."""
    os.makedirs(run_dir, exist_ok=True)
    done = {}
    if os.path.isdir(src):
        for s in stages:
            if stage_exists(src, s):
                ck = load_checkpoint(os.path.join(src, f"{s}.pt"))
                for stale in part_paths(os.path.join(run_dir, f"{s}.pt")):
                    os.remove(stale)
                torch.save(ck, os.path.join(run_dir, f"{s}.pt"))
                done[s] = ck["step"]
        copy_tokenizer(src, run_dir, list(done))
        return done
    parts = part_paths(src)  # the single-file pack of earlier runs: {"tokenizer", "log", "stages"}
    blob = open(src, "rb").read() if os.path.exists(src) else b"".join(open(p, "rb").read() for p in parts)
    p = torch.load(io.BytesIO(blob), map_location="cpu", weights_only=False)
    with open(os.path.join(run_dir, "tokenizer.json"), "w", encoding="utf-8") as f:
        f.write(p["tokenizer"])
    for s, ck in p["stages"].items():
        if s in stages:
            torch.save(ck, os.path.join(run_dir, f"{s}.pt"))
            done[s] = ck["step"]
    return done


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run-dir", required=True)
    ap.add_argument("--out", help="checkpoint folder to pack into")
    ap.add_argument("--unpack", help="checkpoint folder (or old single-file pack) to unpack from")
    ap.add_argument("--stages", nargs="+", choices=STAGES, default=list(STAGES))
    ap.add_argument("--part-mb", type=float, default=PART_MB)
    args = ap.parse_args(argv)
    if bool(args.out) == bool(args.unpack):
        ap.error("give one of --out (pack) or --unpack")
    if args.unpack:
        done = unpack(args.unpack, args.run_dir, args.stages)
        print(f"unpacked {', '.join(f'{s} (step {n})' for s, n in done.items()) or 'nothing'} -> {args.run_dir}")
    else:
        done = pack(args.run_dir, args.out, args.stages, args.part_mb)
        for s, (step, files) in done.items():
            size = sum(os.path.getsize(f) for f in files) / 1e6
            print(f"packed {s} (step {step}) -> {', '.join(files)} ({size:.1f} MB)")
    return done


if __name__ == "__main__":
    main()
