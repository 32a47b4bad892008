"""The independent judge of every bundle: a small CLIP (unclip/clip.py) trained only on the emoji
sets that never train the generator (data_emoji.JUDGE_SETS), with CLDR captions, the everyday
prompts and heavy augmentation. It ranks any picture against any prompt list; its ceiling is
R-precision@1 among the everyday prompts on real renders of the generator's own styles, which
it never saw.

  nice -n 5 python3 training/judge.py --budget-s 2400   # -> training/eval/judge_*.onnx, judge.json
  python3 training/judge.py --export-only               # re-export the last checkpoint

Training checkpoints (resumable) go to training/.cache/judge/. The judge is trained on CC BY-SA
pictures among others and is not part of any bundle.
"""
import argparse
import hashlib
import json
import math
import os
import signal
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from unclip.augment import judge_views  # noqa: E402
from unclip.bpe import BPETokenizer  # noqa: E402
from unclip.clip import CLIP  # noqa: E402
from unclip.config import ClipConfig  # noqa: E402
from unclip.data_emoji import JUDGE_ONLY_BECAUSE, JUDGE_SETS, JUDGE_SOURCES, STYLES, plain_label  # noqa: E402
from unclip.dataset import CACHE, PACK  # noqa: E402
from unclip.export import TextEncoderGraph, export_graph  # noqa: E402
from unclip.tokenizer import load_tokenizer  # noqa: E402
from unclip.judge_data import (EVAL_DIR, PROMPTS, judge_training, load_meta, load_npz,  # noqa: E402
                               read_prompts, real_renders)

HERE = os.path.dirname(os.path.abspath(__file__))
NODE_MODULES = os.path.join(HERE, "..", "node_modules")
FILES = {"image": "judge_image.onnx", "text": "judge_text.onnx", "tokenizer": "judge_tokenizer.json",
         "card": "judge.json"}


def judge_config(vocab_size: int, resolution: int = 32) -> ClipConfig:
    return ClipConfig(vocab_size=vocab_size, context_length=24, text_width=128, text_layers=2, text_heads=4,
                      image_resolution=resolution, image_channels=(32, 64, 128, 256), embed_dim=128)


def to_x(u8: np.ndarray, res: int) -> torch.Tensor:
    """(N, H, H, 3) uint8 -> (N, 3, res, res) in [-1, 1], area-resized."""
    x = torch.from_numpy(np.ascontiguousarray(u8)).permute(0, 3, 1, 2).float() / 127.5 - 1
    return x if x.shape[-1] == res else F.interpolate(x, size=res, mode="area")


@torch.no_grad()
def embed_images(clip: CLIP, u8: np.ndarray, bs: int = 256) -> torch.Tensor:
    res = clip.cfg.image_resolution
    return torch.cat([clip.encode_image(to_x(u8[i:i + bs], res)) for i in range(0, len(u8), bs)])


@torch.no_grad()
def embed_texts(clip: CLIP, tok, texts: list) -> torch.Tensor:
    return clip.encode_text(torch.tensor(tok.encode_batch(texts), dtype=torch.long))[0]


def r_precision_at_1(image_embed: torch.Tensor, labels: torch.Tensor, text_embed: torch.Tensor) -> float:
    """Share of images whose own prompt ranks first among all prompts. (M, D), (M,), (P, D)."""
    return float(((image_embed @ text_embed.t()).argmax(1) == labels).float().mean())


def ceiling(clip: CLIP, tok, real: dict, prompts: list) -> dict:
    """R-precision@1 on the real renders, overall and per generator style."""
    ie = embed_images(clip, real["images"])
    te = embed_texts(clip, tok, [p for p, _ in prompts])
    labels = torch.from_numpy(real["prompt"])
    per_style = {}
    for s in sorted(set(real["sets"].tolist())):
        m = torch.from_numpy(real["sets"] == s)
        per_style[s] = round(r_precision_at_1(ie[m], labels[m], te), 4)
    return {"r_precision_at_1": round(r_precision_at_1(ie, labels, te), 4), "images": len(labels),
            "per_style": per_style}


def train_tokenizer(caption_lists: list, prompts: list, meta: dict, vocab_size: int, context_length: int):
    names = {m["emoji"]: plain_label(m["label"]) for h, m in meta.items() if m["concept"] == h}
    # every judge set's style word, so a set added after the tokenizer was trained has its words
    texts = [c for cs in caption_lists for c in cs] + [p for p, _ in prompts] + [STYLES[s][0] for s in JUDGE_SETS]
    return BPETokenizer.train(texts, context_length, vocab_size, names)


def train(clip: CLIP, tok, data, prompt_texts: list, args, ckpt: str, log=print, monitor=None):
    """Contrastive training within a wall-clock budget, resumable from `ckpt`. The learning rate
    follows the budget (warm-up, then cosine to 10 %), so a resumed run continues the curve."""
    L = clip.cfg.context_length
    cap_ids = torch.tensor(tok.encode_batch([c for cs in data.caption_lists for c in cs]), dtype=torch.long)
    cap_count = torch.tensor([len(cs) for cs in data.caption_lists])
    cap_start = torch.cumsum(cap_count, 0) - cap_count
    images = torch.from_numpy(data.images).permute(0, 3, 1, 2).contiguous()  # (N, 3, 64, 64) uint8
    prompt_ids = torch.tensor(tok.encode_batch(prompt_texts), dtype=torch.long)  # (P, L)
    group = torch.from_numpy(data.group)
    # sample by group (each concept, or each prompt, equally often); half the batch from the
    # everyday prompts' pictures, the ruler the judge is mostly used with
    _, gid, counts = np.unique(data.group, return_inverse=True, return_counts=True)
    w_all = torch.from_numpy(1.0 / counts[gid]).float()
    w_every = w_all * torch.from_numpy(data.prompt_of >= 0).float()
    opt = torch.optim.AdamW(clip.parameters(), lr=args.lr, betas=(0.9, 0.98), weight_decay=0.05)
    ema = CLIP(clip.cfg).eval()
    ema.load_state_dict(clip.state_dict())
    for p in ema.parameters():
        p.requires_grad_(False)
    step, elapsed, phases = 0, 0.0, []
    if os.path.exists(ckpt) and args.resume:
        ck = torch.load(ckpt, map_location="cpu")
        clip.load_state_dict(ck["model"])
        ema.load_state_dict(ck["ema"])
        opt.load_state_dict(ck["opt"])
        step, elapsed, phases = ck["step"], ck["elapsed"], ck.get("phases", [])
        log(f"[judge] resumed at step {step} ({elapsed:.0f}s)")
    sets = sorted(set(data.sets.tolist()))
    phase = {"sets": sets, "pictures": len(data.images), "prompt_loss": args.prompt_loss}
    if not phases or {k: phases[-1].get(k) for k in phase} != phase:  # a resume on other data or loss
        phases.append({"from_step": step, **phase})

    def save():
        torch.save({"model": clip.state_dict(), "ema": ema.state_dict(), "opt": opt.state_dict(), "step": step,
                    "elapsed": elapsed, "config": clip.cfg.__dict__, "phases": phases}, ckpt + ".tmp")
        os.replace(ckpt + ".tmp", ckpt)

    stop = []  # SIGTERM ends the run after the current step, with a checkpoint (resume continues it)
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    g = torch.Generator().manual_seed(args.seed + step)
    B, t0, last_save, loss_acc = args.batch, time.time() - elapsed, time.time(), 0.0
    clip.train()
    while elapsed < args.budget_s and step < args.max_steps and not stop:
        frac = elapsed / args.budget_s
        lr = args.lr * min(1.0, (step + 1) / 100) * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * frac)))
        for gr in opt.param_groups:
            gr["lr"] = lr
        half = B // 2
        idx = torch.cat([torch.multinomial(w_every, half, replacement=True, generator=g),
                         torch.multinomial(w_all, B - half, replacement=True, generator=g)])
        x = judge_views(images[idx].float() / 127.5 - 1, g, clip.cfg.image_resolution)
        k = (torch.rand(B, generator=g) * cap_count[idx]).long()
        ids = cap_ids[cap_start[idx] + k]  # (B, L)
        same = (group[idx][:, None] == group[idx][None, :]) | (ids[:, None, :] == ids[None, :, :]).all(-1)
        ie = clip.encode_image(x)
        loss = clip.contrastive(ie, clip.encode_text(ids)[0], same)
        # and the ruler itself: an everyday picture against every everyday prompt (all its hard
        # negatives at once, which a batch of 128 captions rarely holds)
        every = torch.from_numpy(data.prompt_of)[idx]
        m = every >= 0
        if args.prompt_loss and m.any():
            logits = clip.logit_scale.exp().clamp(max=100) * ie[m] @ clip.encode_text(prompt_ids)[0].t()
            loss = loss + args.prompt_loss * F.cross_entropy(logits, every[m])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(clip.parameters(), 1.0)
        opt.step()
        step += 1
        d = min(args.ema_decay, (1 + step) / (10 + step))
        with torch.no_grad():
            for pe, pm in zip(ema.parameters(), clip.parameters()):
                pe.mul_(d).add_(pm.detach(), alpha=1 - d)
        loss_acc += float(loss)
        elapsed = time.time() - t0
        if step % args.log_every == 0:
            extra = f" ceiling {monitor(ema)['r_precision_at_1']:.3f}" if monitor and step % (args.log_every * 5) == 0 else ""
            log(f"[judge] step {step} loss {loss_acc / args.log_every:.3f} lr {lr:.1e} "
                f"{step / max(elapsed, 1e-9):.2f} it/s elapsed {elapsed:.0f}s{extra}")
            loss_acc = 0.0
        if time.time() - last_save > args.ckpt_every_s:
            save()
            last_save = time.time()
    save()
    log(f"[judge] done: {step} steps, {elapsed:.0f}s -> {ckpt}")
    return ema, step, elapsed, phases


class ImageEncoderGraph(nn.Module):
    def __init__(self, clip: CLIP):
        super().__init__()
        self.image = clip.image

    def forward(self, image):
        return self.image(image)


def load_image_tower(eval_dir: str = EVAL_DIR) -> nn.Module:
    """The committed judge's image tower in PyTorch, its weights read back from judge_image.onnx
    and checked against the card's golden embedding: for Python tools that score images with the
    frozen judge where no onnxruntime is installed (Debian ships none)."""
    from unclip.from_bundle import load_graph_weights
    with open(os.path.join(eval_dir, FILES["card"])) as f:
        card = json.load(f)
    cfg = card["config"]
    clip = CLIP(judge_config(cfg["vocab_size"], cfg["image_resolution"]))
    graph = ImageEncoderGraph(clip).eval()
    # the bench's loader (re-export, match renamed initializers by consumer): one mechanism for
    # reading an exported graph's weights back into its module
    load_graph_weights(graph, {"image": torch.zeros(2, 3, cfg["image_resolution"], cfg["image_resolution"])},
                       ["image_embed"], os.path.join(eval_dir, FILES["image"]), "judge image tower")
    with torch.no_grad():
        got = graph(golden_image(cfg["image_resolution"]))[0]
    want = torch.tensor(card["golden"]["image_embed"]).flatten()
    assert torch.allclose(got, want, atol=1e-4), f"judge image tower does not reproduce its golden (max |d| {(got - want).abs().max():.2e})"
    return graph


def golden_image(res: int) -> torch.Tensor:
    """A fixed picture (a red disc on white) whose embedding the TypeScript parity test replays."""
    yy, xx = torch.meshgrid(torch.linspace(-1, 1, res), torch.linspace(-1, 1, res), indexing="ij")
    disc = (xx ** 2 + yy ** 2 < 0.5).float()
    return torch.stack([torch.ones_like(disc), 1 - 2 * disc, 1 - 2 * disc])[None]  # (1, 3, R, R)


def export(clip: CLIP, tok, out_dir: str, card: dict) -> dict:
    """The two ONNX graphs, the tokenizer and the card (with PyTorch goldens for the parity test)."""
    os.makedirs(out_dir, exist_ok=True)
    clip = clip.eval()
    R, L = clip.cfg.image_resolution, clip.cfg.context_length
    export_graph(ImageEncoderGraph(clip), {"image": torch.zeros(2, 3, R, R)}, ["image_embed"],
                 os.path.join(out_dir, FILES["image"]))
    export_graph(TextEncoderGraph(clip), {"input_ids": torch.ones(2, L, dtype=torch.long)},
                 ["text_embed", "text_tokens"], os.path.join(out_dir, FILES["text"]))
    tok.save(os.path.join(out_dir, FILES["tokenizer"]))
    golden_prompts = ["a cute cat", "a slice of pizza"]
    with torch.no_grad():
        te = embed_texts(clip, tok, golden_prompts)
        ie = clip.encode_image(golden_image(R))
    card = {**card, "files": FILES, "resolution": R, "context_length": L, "embed_dim": clip.cfg.embed_dim,
            "input": f"RGB in [-1, 1], NCHW, {R}x{R} (64 px pictures area-resized; larger ones resized)",
            "golden": {"prompts": golden_prompts, "input_ids": tok.encode_batch(golden_prompts),
                       "text_embed": te.numpy().round(6).tolist(),
                       "image": "red disc of radius sqrt(0.5) on white (judge.golden_image)",
                       "image_embed": ie[0].numpy().round(6).tolist()}}
    with open(os.path.join(out_dir, FILES["card"]), "w", encoding="utf-8") as f:
        json.dump(card, f, indent=1, ensure_ascii=False)
        f.write("\n")
    return card


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--judge-pack", default=PACK, help="folder with judge64.npz (the judge-only sets)")
    ap.add_argument("--pack", default=PACK, help="folder with emoji64.npz and meta.json (the ceiling's renders)")
    ap.add_argument("--node-modules", default=NODE_MODULES)
    ap.add_argument("--out", default=EVAL_DIR)
    ap.add_argument("--ckpt", default=os.path.join(CACHE, "judge", "judge.pt"))
    ap.add_argument("--budget-s", type=float, default=2400, help="wall-clock training budget (all resumes together)")
    ap.add_argument("--max-steps", type=int, default=10 ** 9)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--ema-decay", type=float, default=0.995)
    ap.add_argument("--prompt-loss", type=float, default=1.0,
                    help="weight of the everyday pictures' cross-entropy over all everyday prompts (0: off)")
    ap.add_argument("--resolution", type=int, default=32)
    ap.add_argument("--vocab-size", type=int, default=2048)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--log-every", type=int, default=50)
    ap.add_argument("--ckpt-every-s", type=float, default=300)
    ap.add_argument("--resume", action=argparse.BooleanOptionalAction, default=True)
    ap.add_argument("--export-only", action="store_true", help="export the checkpoint without training")
    return ap


def main(argv=None):
    args = parser().parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    t0 = time.time()
    prompts = read_prompts(PROMPTS)
    meta = load_meta(args.pack, args.node_modules)
    judge_pack = load_npz(os.path.join(args.judge_pack, "judge64.npz"))
    data = judge_training(judge_pack, meta, prompts)
    real = real_renders(load_npz(os.path.join(args.pack, "emoji64.npz")), meta, prompts)
    os.makedirs(os.path.dirname(args.ckpt), exist_ok=True)
    tok_path = os.path.splitext(args.ckpt)[0] + "_tokenizer.json"
    if args.resume and os.path.exists(tok_path):
        tok = load_tokenizer(tok_path, 24)
    else:
        tok = train_tokenizer(data.caption_lists, prompts, meta, args.vocab_size, 24)
        tok.save(tok_path)
    clip = CLIP(judge_config(len(tok.vocab), args.resolution))
    per_set = {s: {"images": int((data.sets == s).sum()), "why_judge_only": JUDGE_ONLY_BECAUSE[s]}
               for s in sorted(set(data.sets.tolist()))}
    print(f"judge: {len(data.images)} pictures {json.dumps({s: v['images'] for s, v in per_set.items()})}, "
          f"{int((data.prompt_of >= 0).sum())} of the everyday prompts' emoji; {len(real['prompt'])} real renders "
          f"of the generator's styles for the ceiling; {sum(p.numel() for p in clip.parameters()) / 1e6:.2f}M params",
          flush=True)
    log_path = os.path.splitext(args.ckpt)[0] + ".log"

    def log(msg):
        print(msg, flush=True)
        with open(log_path, "a") as f:
            f.write(msg + "\n")

    if args.export_only:
        ck = torch.load(args.ckpt, map_location="cpu")
        clip.load_state_dict(ck["ema"])
        ema, steps, seconds, phases = clip, ck["step"], ck["elapsed"], ck.get("phases", [])
    else:
        ema, steps, seconds, phases = train(clip, tok, data, [p for p, _ in prompts], args, args.ckpt, log,
                                    monitor=lambda m: ceiling(m, tok, real, prompts))
    ceil = ceiling(ema, tok, real, prompts)
    prompts_sha = hashlib.sha256(open(PROMPTS, "rb").read()).hexdigest()
    card = {
        "role": "independent judge of the everyday evaluation (training/eval/everyday.ts); not part of any bundle",
        "prompts_file": "everyday_prompts.tsv", "prompts_sha256": prompts_sha, "prompts": len(prompts),
        "ceiling": {**ceil, "what": "R-precision@1 among the everyday prompts on real 64 px renders of their "
                                    "emoji (base emoji, no skin tones) in the generator's styles, which the judge never saw"},
        "training": {"sets": per_set, "sources": JUDGE_SOURCES, "pictures": len(data.images),
                     "captions": "CLDR name, article and style templates and tags (data_emoji.captions_for); "
                                 "pictures of an everyday prompt's emoji also carry the prompt",
                     "augmentation": "random resized crop/shift/rotation on white, colour (brightness, contrast, "
                                     "saturation, channel gain, 8 % grey), flips, down-up sampling or blur, noise",
                     "steps": steps, "phases": phases, "batch": args.batch, "seconds": round(seconds), "threads": args.threads,
                     "lr": args.lr, "ema_decay": args.ema_decay, "prompt_loss": args.prompt_loss},
        "config": {k: list(v) if isinstance(v, tuple) else v for k, v in ema.cfg.__dict__.items()},
    }
    export(ema, tok, args.out, card)
    print(f"judge ceiling {ceil['r_precision_at_1']:.3f} on {ceil['images']} real renders; per style "
          f"{json.dumps(ceil['per_style'])}; {steps} steps; {time.time() - t0:.0f}s")


if __name__ == "__main__":
    main()
