"""Train one stage of a bundle: python3 training/train.py --stage clip|prior|decoder|upsampler --data shapes|emoji --config tiny|cpu|gpu

Checkpoints (model, EMA, optimizer, step, elapsed time and the full BundleConfig) go to
training/runs/<data>-<config>/<stage>.pt every ckpt_every steps and at the end; --resume
continues from there. Progress lines (step, loss, it/s, ETA) go to stdout and <run>/train.log.
The prior and decoder need clip.pt (frozen CLIP embeddings); the upsampler needs nothing.
"""
import argparse
import copy
import math
import os
import shutil
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from unclip.checkpoint import build_model, load_stage  # noqa: E402
from unclip.clip import CLIP  # noqa: E402
from unclip.config import BundleConfig, TrainConfig, get_config, to_dict  # noqa: E402
from unclip.dataset import downsample, load_data, to_tensor  # noqa: E402
from unclip.diffusion import Diffusion  # noqa: E402
from unclip.bpe import BPETokenizer  # noqa: E402
from unclip.tokenizer import load_tokenizer  # noqa: E402
from unclip.upsampler import degrade  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
STAGES = ("clip", "prior", "decoder", "upsampler")


def get_tokenizer(run_dir: str, cfg: BundleConfig, data):
    """The run's tokenizer.json: the data pack's (emoji: trained with the emoji names by
    prepare_emoji.py) or a BPE trained on the captions, written once before any stage reads it."""
    path = os.path.join(run_dir, "tokenizer.json")
    if not os.path.exists(path):
        if data.tokenizer_path:
            shutil.copyfile(data.tokenizer_path, path)
        else:
            texts = [c for cs in (data.caption_lists or [[c] for c in data.captions]) for c in cs]
            BPETokenizer.train(texts, cfg.clip.context_length, cfg.vocab_size).save(path)
    return load_tokenizer(path, cfg.clip.context_length)


class Log:
    def __init__(self, path):
        self.f = open(path, "a", buffering=1)

    def __call__(self, msg):
        print(msg, flush=True)
        self.f.write(msg + "\n")


@torch.no_grad()
def clip_image_features(clip: CLIP, images_u8: torch.Tensor, res_factor: int, flip: bool, bs=512):
    """Frozen CLIP image embeddings of every sample: (N, F, D), F = 2 (image, its mirror) with
    flips else 1. Text features are computed per step, for the caption that step draws."""
    ie = []
    for i in range(0, len(images_u8), bs):
        x = downsample(to_tensor(images_u8[i:i + bs]), res_factor)
        views = [x, x.flip(-1)] if flip else [x]
        ie.append(torch.stack([clip.encode_image(v) for v in views], dim=1))
    return torch.cat(ie)


def train_stage(stage: str, cfg: BundleConfig, run_dir: str, device: str, resume: bool, log: Log,
                budget_s: float = None, steps: int = None, overrides: dict = None):
    tc: TrainConfig = cfg.train[stage]
    if budget_s is not None:
        tc = TrainConfig(**{**tc.__dict__, "budget_s": budget_s})
    if steps is not None:
        tc = TrainConfig(**{**tc.__dict__, "steps": steps})
    if overrides:
        tc = TrainConfig(**{**tc.__dict__, **overrides})
    cfg.train[stage] = tc
    data = load_data(cfg)
    tok = get_tokenizer(run_dir, cfg, data)
    cfg.clip.vocab_size = len(tok.vocab)
    images = torch.from_numpy(data.images).to(device)  # (N, H, H, 3) uint8
    ids = torch.tensor(tok.encode_batch(data.captions), dtype=torch.long, device=device)  # (N, L) canonical
    # every caption of every image, flattened; a step draws one per sample (one list per image)
    lists = data.caption_lists or [[c] for c in data.captions]
    cap_ids = torch.tensor(tok.encode_batch([c for cs in lists for c in cs]), dtype=torch.long, device=device)
    cap_count = torch.tensor([len(cs) for cs in lists], device=device)
    cap_start = torch.cumsum(cap_count, 0) - cap_count
    train_idx = torch.from_numpy(data.train_idx).to(device)
    # sample by concept: each concept equally often, then one of its images
    concept = data.concepts if data.concepts is not None else np.array(data.captions)
    _, cid, counts = np.unique(concept, return_inverse=True, return_counts=True)
    weight = torch.from_numpy(1.0 / counts[cid[data.train_idx]]).float()
    cid = torch.from_numpy(cid).to(device)
    factor = data.images.shape[1] // cfg.decoder.resolution  # source -> decoder resolution
    hi_src = torch.from_numpy(data.hi_images if data.hi_images is not None else data.images).to(device)
    hi_factor = hi_src.shape[1] // cfg.upsampler.resolution  # upsampler source -> its resolution
    up_factor = cfg.upsampler.resolution // cfg.decoder.resolution
    g = torch.Generator(device="cpu").manual_seed(1234)

    model = build_model(stage, cfg).to(device)
    n_params = sum(p.numel() for p in model.parameters())
    feats = clip = None
    if stage in ("prior", "decoder"):
        clip, _, _ = load_stage(run_dir, "clip", device)
        feats = clip_image_features(clip, images, factor, cfg.flip)
    diff = {"prior": Diffusion("cosine", cfg.prior.timesteps, "x0"),
            "decoder": Diffusion("cosine", cfg.decoder.timesteps, "v"),
            "upsampler": Diffusion("cosine", cfg.upsampler.timesteps, "v")}.get(stage)
    scale = cfg.prior.embedding_scale or math.sqrt(cfg.prior.embed_dim)

    def draw_captions(idx):
        """One random caption per sample: (B, L) ids."""
        k = (torch.rand(len(idx), device=device) * cap_count[idx]).long()
        return cap_ids[cap_start[idx] + k]

    def batch_loss(B):
        if stage == "upsampler":
            idx = torch.randint(0, len(hi_src), (B,), generator=g).to(device)
        else:
            idx = train_idx[torch.multinomial(weight, B, replacement=True, generator=g).to(device)]
        flip = torch.zeros(B, dtype=torch.bool, device=device)
        if cfg.flip:
            flip = torch.rand(B, device=device) < 0.5
        if stage == "clip":
            x = downsample(to_tensor(images[idx]), factor)
            x = torch.where(flip[:, None, None, None], x.flip(-1), x)
            same = cid[idx][:, None] == cid[idx][None, :]
            return model.loss(x, draw_captions(idx), same)
        if stage in ("prior", "decoder"):
            tids = draw_captions(idx)
            mask = (tids != 0).float()
            with torch.no_grad():
                te, tt = clip.encode_text(tids)
        if stage == "prior":
            x0 = feats[idx, 0] * scale
            keep = (torch.rand(B, device=device) > 0.1).float()  # drop text 10 %
            return diff.loss(model, x0, text_embed=te * keep[:, None], text_tokens=tt * keep[:, None, None],
                             text_mask=mask * keep[:, None])
        if stage == "decoder":
            x0 = downsample(to_tensor(images[idx]), factor)
            x0 = torch.where(flip[:, None, None, None], x0.flip(-1), x0)
            emb = feats[idx, flip.long()] if cfg.flip else feats[idx, 0]
            keep_e = (torch.rand(B, device=device) > 0.1).float()  # drop embedding 10 %
            keep_t = (torch.rand(B, device=device) > 0.5).float()  # drop text 50 %
            return diff.loss(model, x0, image_embed=emb * keep_e[:, None],
                             text_tokens=tt * keep_t[:, None, None], text_mask=mask * keep_t[:, None])
        hi = downsample(to_tensor(hi_src[idx]), hi_factor)
        hi = torch.where(flip[:, None, None, None], hi.flip(-1), hi)
        c, H = tc.crop, hi.shape[-1]
        if c and c < H:  # random crops (unCLIP trains its upsamplers on crops): the net is convolutional
            oy, ox = (np.random.randint(0, (H - c) // up_factor + 1, size=2) * up_factor).tolist()
            hi = hi[:, :, oy:oy + c, ox:ox + c]
        return diff.loss(model, hi, low_res=degrade(hi, up_factor, train=True))

    opt = torch.optim.AdamW(model.parameters(), lr=tc.lr, betas=(0.9, 0.99), weight_decay=tc.weight_decay)
    ema = copy.deepcopy(model).eval()
    for p in ema.parameters():
        p.requires_grad_(False)
    step, elapsed = 0, 0.0
    path = os.path.join(run_dir, f"{stage}.pt")
    rewarm_from = 0
    if resume and os.path.exists(path):
        ck = torch.load(path, map_location=device, weights_only=False)
        ema.load_state_dict({k: v.float() for k, v in ck["ema"].items()})
        if "opt" in ck:
            model.load_state_dict(ck["model"])
            opt.load_state_dict(ck["opt"])
        else:  # a packed checkpoint (EMA only): continue from the EMA with a fresh optimizer
            model.load_state_dict(ema.state_dict())
            rewarm_from = ck["step"]
        step, elapsed = ck["step"], ck["elapsed"]
        log(f"[{stage}] resumed at step {step} ({elapsed:.0f}s){' from EMA weights' if rewarm_from else ''}")

    def save():
        tmp = path + ".tmp"
        torch.save({"config": to_dict(cfg), "stage": stage, "step": step, "elapsed": elapsed,
                    "model": model.state_dict(), "ema": ema.state_dict(), "opt": opt.state_dict(),
                    "params": n_params, "device": device}, tmp)
        os.replace(tmp, path)

    amp = device.startswith("cuda")
    log(f"[{stage}] {cfg.data}-{cfg.name}: {n_params / 1e6:.2f}M params, {len(train_idx)} train samples, "
        f"batch {tc.batch_size}, steps {tc.steps}, budget {tc.budget_s or 'none'}s, device {device}")
    t0, loss_acc, n_acc, last = time.time() - elapsed, 0.0, 0, time.time()
    budget_end = time.time() + tc.budget_s if tc.budget_s else None  # the budget is per invocation
    last_step = step
    model.train()
    while step < tc.steps and not (budget_end and time.time() >= budget_end):
        lr = tc.lr * min(1.0, (step + 1 - rewarm_from) / max(1, tc.warmup))
        for gr in opt.param_groups:
            gr["lr"] = lr
        if amp:
            with torch.autocast(device_type="cuda", dtype=torch.bfloat16):
                loss = batch_loss(tc.batch_size)
        else:
            loss = batch_loss(tc.batch_size)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        d = min(tc.ema_decay, (1 + step) / (10 + step)) if tc.ema_warmup else tc.ema_decay
        with torch.no_grad():
            for pe, pm in zip(ema.parameters(), model.parameters()):
                pe.mul_(d).add_(pm.detach(), alpha=1 - d)
        loss_acc += loss.detach()  # stays on the device: no sync per step
        n_acc += 1
        elapsed = time.time() - t0
        if step % tc.log_every == 0 or step == tc.steps:
            rate = (step - last_step) / max(1e-9, time.time() - last)
            left = (tc.steps - step) / max(rate, 1e-9)
            if budget_end:
                left = min(left, budget_end - time.time())
            log(f"[{stage}] step {step}/{tc.steps} loss {float(loss_acc) / n_acc:.4f} lr {lr:.2e} "
                f"{rate:.2f} it/s elapsed {elapsed:.0f}s ETA {max(left, 0):.0f}s")
            loss_acc, n_acc, last, last_step = 0.0, 0, time.time(), step
        if step % tc.ckpt_every == 0:
            save()
    save()
    log(f"[{stage}] done: {step} steps in {elapsed:.0f}s -> {path}")
    return path


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--stage", required=True, choices=STAGES + ("all",))
    ap.add_argument("--data", required=True, choices=("shapes", "emoji"))
    ap.add_argument("--config", required=True, choices=("tiny", "cpu", "gpu"))
    ap.add_argument("--run-dir", default=None, help="default training/runs/<data>-<config>")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--budget", type=float, default=None, help="wall-clock seconds for this stage")
    ap.add_argument("--steps", type=int, default=None, help="override the preset's step count")
    ap.add_argument("--batch-size", type=int, default=None, help="override the preset's batch size")
    ap.add_argument("--lr", type=float, default=None, help="override the preset's peak learning rate")
    ap.add_argument("--ckpt-every", type=int, default=None, help="override the preset's checkpoint interval")
    ap.add_argument("--threads", type=int, default=0, help="torch CPU threads (0 = leave)")
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.device.startswith("cuda"):
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    torch.manual_seed(0)
    np.random.seed(0)
    run_dir = args.run_dir or os.path.join(HERE, "runs", f"{args.data}-{args.config}")
    os.makedirs(run_dir, exist_ok=True)
    log = Log(os.path.join(run_dir, "train.log"))
    stages = STAGES if args.stage == "all" else (args.stage,)
    for s in stages:
        cfg = get_config(args.data, args.config)
        overrides = {k: v for k, v in (("batch_size", args.batch_size), ("lr", args.lr),
                                       ("ckpt_every", args.ckpt_every)) if v is not None}
        train_stage(s, cfg, run_dir, args.device, args.resume, log, args.budget, args.steps, overrides)


if __name__ == "__main__":
    main()
