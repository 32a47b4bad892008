"""The independent judge of the everyday evaluation: a small CNN that names which everyday
prompt a picture (area-resized to 32 px) shows, trained only on the ShareAlike emoji sets (OpenMoji, EmojiOne v1),
which never train the generator. Its ceiling is its accuracy on the real pictures of the
generator's own styles for the same prompts (it never saw those styles either).

  python3 training/judge.py   # -> training/eval/judge.onnx + judge.json (classes, ceiling)

Classes are the prompts of training/eval/everyday_prompts.tsv; a prompt's emoji (any of them)
are its pictures. The judge file is trained on CC BY-SA pictures and is not part of any bundle.
"""
import argparse
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from unclip.data_emoji import JUDGE_SOURCES  # noqa: E402
from unclip.dataset import PACK  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
PROMPTS = os.path.join(HERE, "eval", "everyday_prompts.tsv")


def read_prompts(path: str = PROMPTS) -> list:
    """[(prompt, [emoji, ...])] in file order."""
    out = []
    for line in open(path, encoding="utf-8"):
        if line.strip() and not line.startswith("#"):
            prompt, emoji = line.rstrip("\n").split("\t")
            out.append((prompt, emoji.split()))
    return out


def prompt_classes(prompts: list, meta: dict) -> dict:
    """concept hexcode -> prompt index, through each prompt's emoji (U+FE0F ignored)."""
    by_emoji = {m["emoji"].replace("\ufe0f", ""): m["concept"] for m in meta.values()}
    out = {}
    for k, (p, emojis) in enumerate(prompts):
        for e in emojis:
            c = by_emoji.get(e.replace("\ufe0f", ""))
            assert c is not None, f"{p!r}: {e} is not an emoji in emojibase"
            assert out.get(c, k) == k, f"{e} names two prompts"
            out[c] = k
    return out


class Judge(nn.Module):
    def __init__(self, classes: int, width: int = 24):
        super().__init__()
        chans = [3, width, 2 * width, 4 * width]
        layers = []
        for a, b in zip(chans, chans[1:]):
            layers += [nn.Conv2d(a, b, 3, padding=1), nn.GroupNorm(8, b), nn.SiLU(),
                       nn.Conv2d(b, b, 3, padding=1), nn.GroupNorm(8, b), nn.SiLU(), nn.AvgPool2d(2)]
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(chans[-1], classes)

    def forward(self, x):  # (B,3,R,R) in [-1,1] -> logits
        return self.head(self.features(x).mean((2, 3)))


def augment(x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    """Style-agnostic views: random scale/shift/rotation, colour gain, blur, noise, low-res."""
    B = len(x)
    ang = (torch.rand(B, generator=g) - 0.5) * 0.5
    sc = 0.75 + 0.45 * torch.rand(B, generator=g)
    sh = (torch.rand(B, 2, generator=g) - 0.5) * 0.3
    theta = torch.stack([torch.stack([sc * ang.cos(), -sc * ang.sin(), sh[:, 0]], 1),
                         torch.stack([sc * ang.sin(), sc * ang.cos(), sh[:, 1]], 1)], 1)
    grid = F.affine_grid(theta, x.shape, align_corners=False)
    x = F.grid_sample(x + 1, grid, padding_mode="zeros", align_corners=False) - 1  # white outside
    x = x * (0.8 + 0.4 * torch.rand(B, 3, 1, 1, generator=g)).clamp(max=1.2)
    low = torch.rand(B, generator=g) < 0.5
    R = x.shape[-1]
    small = F.interpolate(F.interpolate(x, size=R // 2, mode="area"), size=R, mode="bilinear", align_corners=False)
    x = torch.where(low[:, None, None, None], small, x)
    if torch.rand(1, generator=g) < 0.5:
        x = x.flip(-1)
    return (x + 0.05 * torch.randn(x.shape, generator=g)).clamp(-1, 1)


def to_x(u8: np.ndarray, res: int) -> torch.Tensor:
    return F.interpolate(torch.from_numpy(u8).permute(0, 3, 1, 2).float() / 127.5 - 1, size=res, mode="area")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pack", default=PACK)
    ap.add_argument("--out", default=os.path.join(HERE, "eval"))
    ap.add_argument("--steps", type=int, default=800)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--res", type=int, default=32, help="the judge's input resolution (pictures are area-resized)")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    t0 = time.time()
    prompts = read_prompts()
    meta = json.load(open(os.path.join(args.pack, "meta.json"), encoding="utf-8"))
    cls = prompt_classes(prompts, meta)
    j = np.load(os.path.join(args.pack, "judge64.npz"))
    keep = np.array([c in cls for c in j["concepts"]])
    x_tr = to_x(j["images"][keep], args.res)
    y_tr = torch.tensor([cls[c] for c in j["concepts"][keep]])
    # ceiling: the real pictures of the generator's styles for the same prompts (base emoji only)
    z = np.load(os.path.join(args.pack, "emoji64.npz"))
    real = np.array([c in cls and h == c for c, h in zip(z["concepts"], z["hexcodes"])])
    x_re, y_re = to_x(z["images"][real], args.res), torch.tensor([cls[c] for c in z["concepts"][real]])
    missing = sorted(set(range(len(prompts))) - set(y_tr.tolist()))
    print(f"judge: {len(y_tr)} training pictures for {len(prompts)} prompts "
          f"({len(missing)} prompts without a judge picture: {[prompts[k][0] for k in missing][:8]}), "
          f"{len(y_re)} real pictures of generator styles for the ceiling", flush=True)
    net = Judge(len(prompts))
    opt = torch.optim.AdamW(net.parameters(), lr=2e-3, weight_decay=0.05)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=2e-3, total_steps=args.steps, pct_start=0.1)
    g = torch.Generator().manual_seed(0)
    for step in range(1, args.steps + 1):
        idx = torch.randint(0, len(y_tr), (args.batch,), generator=g)
        loss = F.cross_entropy(net(augment(x_tr[idx], g)), y_tr[idx], label_smoothing=0.1)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if step % 50 == 0:
            print(f"[judge] step {step}/{args.steps} loss {loss.item():.3f} {time.time() - t0:.0f}s", flush=True)
    net.eval()
    with torch.no_grad():
        pred = torch.cat([net(x_re[i:i + 256]).argmax(1) for i in range(0, len(x_re), 256)])
    ceiling = float((pred == y_re).float().mean())
    os.makedirs(args.out, exist_ok=True)
    torch.onnx.export(net, torch.zeros(1, 3, args.res, args.res), os.path.join(args.out, "judge.onnx"),
                      input_names=["image"], output_names=["logits"],
                      dynamic_axes={"image": {0: "batch"}, "logits": {0: "batch"}}, opset_version=17)
    info = {"prompts": [p for p, _ in prompts], "resolution": args.res, "input": "RGB in [-1, 1], NCHW",
            "ceiling_accuracy_on_real_generator_styles": ceiling, "ceiling_images": len(y_re),
            "training_images": len(y_tr), "steps": args.steps, "sources": JUDGE_SOURCES,
            "seconds": round(time.time() - t0, 1)}
    json.dump(info, open(os.path.join(args.out, "judge.json"), "w"), indent=1, ensure_ascii=False)
    print(f"judge ceiling (accuracy on {len(y_re)} real pictures of the generator's styles): {ceiling:.3f}; "
          f"{time.time() - t0:.0f}s")


if __name__ == "__main__":
    main()
