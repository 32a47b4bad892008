"""Export a run directory as a bundle: python3 training/export_bundle.py --run-dir training/runs/shapes-cpu --out models/shapes-cpu [--goldens]"""
import argparse
import datetime
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from unclip.checkpoint import load_pipeline  # noqa: E402
from unclip.dataset import load_data  # noqa: E402
from unclip.export import write_bundle  # noqa: E402

TOKEN_CASES = ["", "RED Circle", "  two   small red circles  ", "a green triangle in the top left",
               "ｆｕｌｌｗｉｄｔｈ red", "crème brûlée", "unknownword purple", "a [EOS] b", "keycap: #",
               "snake_case_word 42", "red, green; blue!", "emoji 😀 face", "tab\tseparated\nlines",
               " ".join(["red"] * 40)]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--run-dir", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--name", default=None, help="default: basename of --out")
    ap.add_argument("--version", default=datetime.date.today().strftime("%Y.%m.%d"))
    ap.add_argument("--description", default=None)
    ap.add_argument("--goldens", action="store_true", help="also write golden/ (parity, sampler, tokens)")
    args = ap.parse_args(argv)
    torch.set_num_threads(2)
    pipe = load_pipeline(args.run_dir)
    cfg = pipe.cfg
    data = load_data(cfg, hi_res=False)  # captions, splits and sources only
    name = args.name or os.path.basename(os.path.normpath(args.out))
    desc = args.description or (f"unCLIP stack trained on {cfg.data} ({cfg.name} config): "
                                f"{cfg.decoder.resolution} px decoder, upsampler to {cfg.upsampler.resolution} px")
    caps = list(dict.fromkeys(data.captions[i] for i in list(data.train_idx[:4]) + list(data.evals["unseen"]["idx"][:4])))
    m = write_bundle(pipe, args.out, name, args.version, desc, data.sources,
                     os.path.join(args.run_dir, "tokenizer.json"), goldens=args.goldens,
                     golden_captions=caps + TOKEN_CASES)
    print(f"[export] {args.out}: " + ", ".join(f"{k}" for k in m["stages"]))


if __name__ == "__main__":
    main()
