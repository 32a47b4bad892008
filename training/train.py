"""Train one stage of a bundle: python3 training/train.py --stage clip|prior|decoder|upsampler|all --data shapes|emoji --config tiny|cpu|gpu

One function per stage (`clip_stage`, `prior_stage`, `decoder_stage`, `upsampler_stage`) builds
its network and its batch loss over data that stays on the training device; `train_loop` runs
any of them: warm-up, AdamW, EMA, logs, checkpoints, budget, periodic packing.

Checkpoints (model, EMA, optimizer, step, elapsed time and the full BundleConfig) go to
training/runs/<data>-<config>/<stage>.pt every ckpt_every steps and at the end; --resume
continues from there (from a packed, EMA-only checkpoint too: fresh optimizer, re-warmed LR).
The prior and decoder need clip.pt (frozen CLIP embeddings); the upsampler needs nothing.

On CUDA (the GPU run, training/gpu_run.sh): bf16 autocast, channels-last, cuDNN autotuning,
fused AdamW and torch.compile where this torch has them, a short batch-size probe (--probe),
and --pack-to DIR writes the fp16 EMA there every --pack-every seconds so a killed call still
returns its weights. Progress lines give samples/s and the achieved TFLOP/s (6 x the trained
net's forward MACs per sample, counted once with forward hooks).
"""
import argparse
import copy
import inspect
import math
import os
import shutil
import signal
import sys
import time
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from unclip.blas import blas_line  # noqa: E402
from unclip.bpe import BPETokenizer  # noqa: E402
from unclip.checkpoint import (build_model, load_checkpoint, load_stage, packed_stage, save_packed,  # noqa: E402
                               stage_exists)
from unclip.clip import CLIP  # noqa: E402
from unclip.config import BundleConfig, TrainConfig, get_config, to_dict  # noqa: E402
from unclip.dataset import TrainingData, downsample, load_data, to_tensor  # noqa: E402
from unclip.diffusion import Diffusion  # noqa: E402
from unclip.layers import Attention  # noqa: E402
from unclip.tokenizer import load_tokenizer  # noqa: E402
from unclip.upsampler import degrade  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
STAGES = ("clip", "prior", "decoder", "upsampler")
PEAK_TFLOPS = {"cuda": 989.0}  # H200 / H100 SXM dense bf16 (datasheet); the share printed is of this


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


@dataclass
class Options:
    """How to train, as opposed to what (the TrainConfig): device and speed settings."""
    device: str = "cpu"
    bf16: bool = False           # autocast to bf16 (always on CUDA; on the CPU only with --cpu-bf16)
    channels_last: bool = False  # conv nets in NHWC (CUDA)
    probe: bool = False          # time a few batch sizes first and keep the fastest
    compile: bool = False        # torch.compile where it exists, eager if it fails or takes too long
    compile_limit_s: float = 90.0
    pack_to: str = None          # write the fp16 EMA here every pack_every seconds (and at the end)
    pack_every: float = 120.0

    @property
    def cuda(self) -> bool:
        return self.device.startswith("cuda")


def autocast(opts: Options):
    return torch.autocast(device_type="cuda" if opts.cuda else "cpu", dtype=torch.bfloat16, enabled=opts.bf16)


def sync(opts: Options):
    if opts.cuda:
        torch.cuda.synchronize()


# ---------------------------------------------------------------- data on the device

class DeviceData:
    """Everything a training step reads, moved to the device once: uint8 images, every caption
    tokenised, the concept-balanced sampling weights. Steps draw indices, captions and flips
    with the device's RNG, so no step copies from the host or waits for the device."""

    def __init__(self, data: TrainingData, tok, cfg: BundleConfig, device: str, hi_res: bool):
        self.cfg, self.device = cfg, device
        self.images = torch.from_numpy(data.images).to(device)  # (N, H, H, 3) uint8
        lists = data.caption_lists or [[c] for c in data.captions]  # a step draws one per sample
        self.cap_ids = torch.tensor(tok.encode_batch([c for cs in lists for c in cs]), dtype=torch.long, device=device)
        self.cap_count = torch.tensor([len(cs) for cs in lists], device=device)
        self.cap_start = torch.cumsum(self.cap_count, 0) - self.cap_count
        self.train_idx = torch.from_numpy(data.train_idx).to(device)
        # sample by concept: each concept equally often, then one of its images
        concept = data.concepts if data.concepts is not None else np.array(data.captions)
        _, cid, counts = np.unique(concept, return_inverse=True, return_counts=True)
        self.weight = torch.from_numpy(1.0 / counts[cid[data.train_idx]]).float().to(device)
        self.cid = torch.from_numpy(cid).to(device)
        self.factor = data.images.shape[1] // cfg.decoder.resolution  # stored -> decoder resolution
        self.hi = None
        if hi_res:
            self.hi = torch.from_numpy(data.hi_images if data.hi_images is not None else data.images).to(device)
            self.hi_factor = self.hi.shape[1] // cfg.upsampler.resolution
        self.up_factor = cfg.upsampler.resolution // cfg.decoder.resolution

    def draw(self, B: int) -> torch.Tensor:
        """(B,) training indices, concept-balanced."""
        return self.train_idx[torch.multinomial(self.weight, B, replacement=True)]

    def flips(self, B: int) -> torch.Tensor:
        if not self.cfg.flip:
            return torch.zeros(B, dtype=torch.bool, device=self.device)
        return torch.rand(B, device=self.device) < 0.5

    def captions(self, idx: torch.Tensor) -> torch.Tensor:
        """(B,) rows of cap_ids: one random caption of each sample."""
        k = (torch.rand(len(idx), device=self.device) * self.cap_count[idx]).long()
        return self.cap_start[idx] + k

    def decoder_images(self, idx, flip) -> torch.Tensor:
        x = downsample(to_tensor(self.images[idx]), self.factor)
        return torch.where(flip[:, None, None, None], x.flip(-1), x)


@torch.no_grad()
def clip_image_features(clip: CLIP, images_u8: torch.Tensor, res_factor: int, flip: bool, bs=512):
    """Frozen CLIP image embeddings of every sample: (N, F, D), F = 2 (image, its mirror) with
    flips else 1."""
    ie = []
    for i in range(0, len(images_u8), bs):
        x = downsample(to_tensor(images_u8[i:i + bs]), res_factor)
        views = [x, x.flip(-1)] if flip else [x]
        ie.append(torch.stack([clip.encode_image(v) for v in views], dim=1))
    return torch.cat(ie)


class TextFeatures:
    """The frozen CLIP's text features of every caption. On the GPU they are computed once (a few
    GB in bf16) so a step only gathers rows; where they would not fit (the CPU) each step encodes
    its own captions."""
    LIMIT = {"cuda": 8e9, "cpu": 2.5e8}  # bytes we allow the table to take

    def __init__(self, clip: CLIP, cap_ids: torch.Tensor, opts: Options, bs=2048):
        self.clip, self.cap_ids = clip, cap_ids
        n, L = cap_ids.shape
        dtype = torch.bfloat16 if opts.cuda else torch.float32
        size = n * L * clip.cfg.text_width * (2 if opts.cuda else 4)
        self.table = None
        if size <= self.LIMIT["cuda" if opts.cuda else "cpu"]:
            te, tt = [], []
            with torch.no_grad():
                for i in range(0, n, bs):
                    e, t = clip.encode_text(cap_ids[i:i + bs])
                    te.append(e)
                    tt.append(t.to(dtype))
            self.table = (torch.cat(te), torch.cat(tt))

    def __call__(self, rows: torch.Tensor):
        """(text_embed (B, D), text_tokens (B, L, W), text_mask (B, L)) of cap_ids[rows]."""
        ids = self.cap_ids[rows]
        mask = (ids != 0).float()
        if self.table is not None:
            return self.table[0][rows], self.table[1][rows], mask
        with torch.no_grad():
            te, tt = self.clip.encode_text(ids)
        return te, tt, mask


# ---------------------------------------------------------------- one function per stage
# Each returns (model, loss) with loss(B) -> the mean loss of one fresh batch of B samples.

def clip_stage(cfg: BundleConfig, dd: DeviceData, run_dir: str, opts: Options):
    """Contrastive CLIP on (image, one of its captions); images of one concept are not negatives."""
    model = build_model("clip", cfg)

    def loss(B):
        idx = dd.draw(B)
        x = dd.decoder_images(idx, dd.flips(B))
        if opts.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        same = dd.cid[idx][:, None] == dd.cid[idx][None, :]
        return model.loss(x, dd.cap_ids[dd.captions(idx)], same)
    return model, loss


def frozen_clip(run_dir: str, dd: DeviceData, opts: Options, clip: CLIP = None):
    """The trained CLIP (or a given one: the smoke step's fresh one), its image embeddings of every
    sample (computed once) and its caption features."""
    if clip is None:
        clip, _, _ = load_stage(run_dir, "clip", opts.device)
    clip = clip.to(opts.device).eval()
    with autocast(opts):
        feats = clip_image_features(clip, dd.images, dd.factor, dd.cfg.flip).float()
        text = TextFeatures(clip, dd.cap_ids, opts)
    return feats, text


def prior_stage(cfg: BundleConfig, dd: DeviceData, run_dir: str, opts: Options, clip: CLIP = None):
    """Diffusion prior, x0-prediction, in the space image_embed * sqrt(D); text dropped 10 %."""
    model = build_model("prior", cfg)
    feats, text = frozen_clip(run_dir, dd, opts, clip)
    diff = Diffusion("cosine", cfg.prior.timesteps, "x0")
    scale = cfg.prior.embedding_scale or math.sqrt(cfg.prior.embed_dim)

    def loss(B):
        idx = dd.draw(B)
        te, tt, mask = text(dd.captions(idx))
        keep = (torch.rand(B, device=dd.device) > 0.1).float()
        return diff.loss(model, feats[idx, 0] * scale, text_embed=te * keep[:, None],
                         text_tokens=tt * keep[:, None, None].to(tt.dtype), text_mask=mask * keep[:, None])
    return model, loss


def decoder_stage(cfg: BundleConfig, dd: DeviceData, run_dir: str, opts: Options, clip: CLIP = None):
    """Decoder UNet, v-prediction, on the CLIP image embedding of the (flipped) image it draws;
    embedding dropped 10 %, text 50 % (classifier-free guidance)."""
    model = build_model("decoder", cfg)
    feats, text = frozen_clip(run_dir, dd, opts, clip)
    diff = Diffusion("cosine", cfg.decoder.timesteps, "v")

    def loss(B):
        idx = dd.draw(B)
        flip = dd.flips(B)
        x0 = dd.decoder_images(idx, flip)
        if opts.channels_last:
            x0 = x0.contiguous(memory_format=torch.channels_last)
        emb = feats[idx, flip.long()] if cfg.flip else feats[idx, 0]
        _, tt, mask = text(dd.captions(idx))
        keep_e = (torch.rand(B, device=dd.device) > 0.1).float()
        keep_t = (torch.rand(B, device=dd.device) > 0.5).float()
        return diff.loss(model, x0, image_embed=emb * keep_e[:, None],
                         text_tokens=tt * keep_t[:, None, None].to(tt.dtype), text_mask=mask * keep_t[:, None])
    return model, loss


def upsampler_stage(cfg: BundleConfig, dd: DeviceData, run_dir: str, opts: Options):
    """Upsampler UNet, v-prediction, on random crops of the high-res images (it is convolutional),
    conditioned on a blurred, noised downsample (the previous stage's output as it will come)."""
    model = build_model("upsampler", cfg)
    diff = Diffusion("cosine", cfg.upsampler.timesteps, "v")
    crop, f = cfg.train["upsampler"].crop, dd.up_factor

    def loss(B):
        idx = torch.randint(0, len(dd.hi), (B,), device=dd.device)
        hi = downsample(to_tensor(dd.hi[idx]), dd.hi_factor)
        flip = dd.flips(B)
        hi = torch.where(flip[:, None, None, None], hi.flip(-1), hi)
        H = hi.shape[-1]
        if crop and crop < H:  # host-side offsets: a crop costs no device sync
            oy, ox = (np.random.randint(0, (H - crop) // f + 1, size=2) * f).tolist()
            hi = hi[:, :, oy:oy + crop, ox:ox + crop]
        if opts.channels_last:
            hi = hi.contiguous(memory_format=torch.channels_last)
        return diff.loss(model, hi, low_res=degrade(hi, f, train=True))
    return model, loss


STAGE_FNS = {"clip": clip_stage, "prior": prior_stage, "decoder": decoder_stage, "upsampler": upsampler_stage}


# ---------------------------------------------------------------- speed: MACs, probe, compile

def count_macs(model: nn.Module, run) -> int:
    """Multiply-accumulates of `model`'s convolutions, linears and attention products in one call
    of run(), counted with forward hooks (frozen nets called by run() are not counted)."""
    total = [0]

    def conv(m, inp, out):
        total[0] += out.numel() * (m.in_channels // m.groups) * m.kernel_size[0] * m.kernel_size[1]

    def linear(m, inp, out):
        total[0] += out.numel() * m.in_features

    def attention(m, inp, out):
        x = inp[0]
        ctx = inp[1] if len(inp) > 1 and inp[1] is not None else x
        total[0] += 2 * x.shape[0] * x.shape[1] * ctx.shape[1] * x.shape[2]  # q k^T and att v

    kinds = ((nn.Conv2d, conv), (nn.Linear, linear), (Attention, attention))
    hooks = [m.register_forward_hook(h) for m in model.modules() for cls, h in kinds if isinstance(m, cls)]
    try:
        with torch.no_grad():
            run()
    finally:
        for h in hooks:
            h.remove()
    return total[0]


def train_step(model, opt, loss_fn, B, opts: Options):
    with autocast(opts):
        loss = loss_fn(B)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    return loss


def timed_rate(model, loss_fn, B, opts: Options, steps=3) -> float:
    """Samples/s of forward + backward at batch B (no optimizer step: the weights do not move)."""
    def fwd_bwd():
        with autocast(opts):
            loss = loss_fn(B)
        loss.backward()
        model.zero_grad(set_to_none=True)
    fwd_bwd()
    sync(opts)
    t = time.time()
    for _ in range(steps):
        fwd_bwd()
    sync(opts)
    return B * steps / (time.time() - t)


def probe_batch(model, loss_fn, B0: int, opts: Options, log, stage: str, budget_end: float) -> int:
    """Time B0, 2 B0, 4 B0 (until one runs out of memory or the budget gets short) and keep the
    fastest; a larger batch must win by 5 % to count (timing noise)."""
    best_b, best_r, rows = B0, 0.0, []
    for B in (B0, 2 * B0, 4 * B0):
        if budget_end and time.time() > budget_end - 30:
            break
        try:
            r = timed_rate(model, loss_fn, B, opts)
        except RuntimeError as e:  # out of memory: larger ones will not fit either
            if "out of memory" not in str(e):
                raise
            model.zero_grad(set_to_none=True)
            if opts.cuda:
                torch.cuda.empty_cache()
            rows.append(f"{B}: OOM")
            break
        rows.append(f"{B}: {r:,.0f}/s")
        if r > best_r * 1.05:
            best_b, best_r = B, r
    log(f"[{stage}] batch probe (samples/s, forward+backward): {', '.join(rows)} -> batch {best_b}")
    return best_b


class CompileTimeout(BaseException):
    """Not an Exception, so that no `except Exception` inside the compiler swallows it."""


def try_compile(model, loss_fn, B: int, opts: Options, log, stage: str, eager_rate: float):
    """torch.compile(loss_fn) if this torch has it and it beats eager at batch B; eager when it
    fails, when compiling takes over compile_limit_s (an alarm interrupts it), or when slower."""
    import torch._dynamo as dynamo
    if hasattr(dynamo.config, "suppress_errors"):
        dynamo.config.suppress_errors = True  # a graph that fails to compile runs eagerly
    kw = {"dynamic": False} if "dynamic" in inspect.signature(torch.compile).parameters else {}
    compiled = torch.compile(loss_fn, **kw)

    def alarm(*_):
        raise CompileTimeout()
    old = signal.signal(signal.SIGALRM, alarm)
    signal.alarm(int(opts.compile_limit_s))
    t = time.time()
    try:
        rate = timed_rate(model, compiled, B, opts)
    except (Exception, CompileTimeout) as e:  # too slow, or a compiler error that escaped suppress_errors
        signal.alarm(0)
        dynamo.reset()
        model.zero_grad(set_to_none=True)
        log(f"[{stage}] torch.compile gave up after {time.time() - t:.0f}s ({type(e).__name__}): eager")
        return loss_fn
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
    keep = rate > eager_rate
    log(f"[{stage}] torch.compile: {time.time() - t:.0f}s to compile, {rate:,.0f} vs eager {eager_rate:,.0f} "
        f"samples/s -> {'compiled' if keep else 'eager'}")
    return compiled if keep else loss_fn


def adamw(params, tc: TrainConfig, opts: Options):
    """AdamW, fused where this torch has it (2.x on CUDA): one kernel for the whole update."""
    kw = {}
    if opts.cuda and "fused" in inspect.signature(torch.optim.AdamW).parameters:
        kw["fused"] = True
    return torch.optim.AdamW(params, lr=tc.lr, betas=(0.9, 0.99), weight_decay=tc.weight_decay, **kw)


# ---------------------------------------------------------------- the shared loop

def stage_config(cfg: BundleConfig, stage: str, budget_s=None, steps=None, overrides=None) -> TrainConfig:
    tc = cfg.train[stage]
    extra = {k: v for k, v in (("budget_s", budget_s), ("steps", steps)) if v is not None}
    tc = TrainConfig(**{**tc.__dict__, **extra, **(overrides or {})})
    cfg.train[stage] = tc
    return tc


def device_data(cfg: BundleConfig, run_dir: str, opts: Options, hi_res: bool) -> DeviceData:
    """The data on the device, and the tokenizer's vocabulary size in the config."""
    data = load_data(cfg, hi_res=hi_res)
    tok = get_tokenizer(run_dir, cfg, data)
    cfg.clip.vocab_size = len(tok.vocab)
    return DeviceData(data, tok, cfg, opts.device, hi_res=hi_res)


def prepare(stage: str, cfg: BundleConfig, run_dir: str, opts: Options, dd: DeviceData, clip: CLIP = None):
    """The stage's (model, loss) on the device."""
    kw = {"clip": clip} if clip is not None else {}
    model, loss_fn = STAGE_FNS[stage](cfg, dd, run_dir, opts, **kw)
    model = model.to(opts.device)
    if opts.channels_last and stage != "prior":
        model = model.to(memory_format=torch.channels_last)
    return model, loss_fn


def train_stage(stage: str, cfg: BundleConfig, run_dir: str, device: str, resume: bool, log: Log,
                budget_s: float = None, steps: int = None, overrides: dict = None, opts: Options = None):
    opts = opts or Options(device=device, bf16=device.startswith("cuda"), channels_last=device.startswith("cuda"))
    t_start = time.time()
    tc = stage_config(cfg, stage, budget_s, steps, overrides)
    budget_end = t_start + tc.budget_s if tc.budget_s else None  # the budget is per invocation
    dd = device_data(cfg, run_dir, opts, hi_res=stage == "upsampler")
    model, loss_fn = prepare(stage, cfg, run_dir, opts, dd)
    return train_loop(stage, model, loss_fn, cfg, tc, run_dir, opts, resume, log, budget_end, len(dd.train_idx))


def train_loop(stage, model, loss_fn, cfg, tc, run_dir, opts: Options, resume, log, budget_end, n_train):
    """Warm-up, AdamW, grad clipping, EMA, progress lines, checkpoints; stops at tc.steps or the budget."""
    n_params = sum(p.numel() for p in model.parameters())
    ema = copy.deepcopy(model).eval()
    for p in ema.parameters():
        p.requires_grad_(False)
    step, elapsed, rewarm_from = 0, 0.0, 0
    path = os.path.join(run_dir, f"{stage}.pt")
    if resume and stage_exists(run_dir, stage):
        ck = load_checkpoint(path, opts.device)
        ema.load_state_dict({k: v.float() for k, v in ck["ema"].items()})
        if "opt" not in ck:  # a packed checkpoint (EMA only): continue from the EMA, fresh optimizer
            model.load_state_dict(ema.state_dict())
            rewarm_from = ck["step"]
        step, elapsed = ck["step"], ck["elapsed"]
        log(f"[{stage}] resumed at step {step} ({elapsed:.0f}s){' from EMA weights' if rewarm_from else ''}")
    else:
        ck = None
    log(f"[{stage}] {blas_line()}; device {opts.device}" + (f" ({torch.cuda.get_device_name()})" if opts.cuda else "")
        + f", bf16 {opts.bf16}, channels-last {opts.channels_last}")

    sample_b = 2
    macs = count_macs(model, lambda: loss_fn(sample_b)) / sample_b  # forward MACs per sample
    B, lr = tc.batch_size, tc.lr
    if opts.probe:
        B = probe_batch(model, loss_fn, tc.batch_size, opts, log, stage, budget_end)
    if B != tc.batch_size:  # Adam: learning rate with the square root of the batch, warm-up in samples
        lr = tc.lr * math.sqrt(B / tc.batch_size)
        tc = TrainConfig(**{**tc.__dict__, "batch_size": B, "lr": lr,
                            "warmup": max(1, tc.warmup * tc.batch_size // B)})
        cfg.train[stage] = tc
    short = budget_end and budget_end - time.time() < 2 * opts.compile_limit_s
    if opts.compile and short:
        log(f"[{stage}] torch.compile: skipped, under {2 * opts.compile_limit_s:.0f}s of budget left")
    elif opts.compile and hasattr(torch, "compile"):
        loss_fn = try_compile(model, loss_fn, B, opts, log, stage, timed_rate(model, loss_fn, B, opts))
    elif opts.compile:
        log(f"[{stage}] torch.compile: not in torch {torch.__version__}, eager")
    opt = adamw(model.parameters(), tc, opts)
    if ck is not None and "opt" in ck:
        model.load_state_dict(ck["model"])
        try:
            opt.load_state_dict(ck["opt"])
        except ValueError:  # saved by another optimizer layout: the EMA carries over, Adam restarts
            rewarm_from = step
    model_params, ema_params = list(model.parameters()), list(ema.parameters())

    def save():
        tmp = path + ".tmp"
        torch.save({"config": to_dict(cfg), "stage": stage, "step": step, "elapsed": elapsed,
                    "model": model.state_dict(), "ema": ema.state_dict(), "opt": opt.state_dict(),
                    "params": n_params, "device": opts.device}, tmp)
        os.replace(tmp, path)

    def pack():
        save_packed(opts.pack_to, stage, packed_stage(to_dict(cfg), stage, step, elapsed, ema.state_dict(), n_params, opts.device))

    flop = 6 * macs  # training FLOP per sample: forward 2 x MACs, backward twice the forward
    log(f"[{stage}] {cfg.data}-{cfg.name}: {n_params / 1e6:.2f}M params, {macs / 1e6:.1f} MMAC per sample forward, "
        f"{n_train} train samples, batch {tc.batch_size}, lr {tc.lr:.2e}, steps {tc.steps}, "
        + (f"budget {tc.budget_s:.0f}s ({budget_end - time.time():.0f}s left)" if budget_end else "no budget"))
    t0, loss_acc, n_acc, last, last_step = time.time() - elapsed, 0.0, 0, time.time(), step
    last_pack, loop_t0, loop_step0 = time.time(), time.time(), step
    peak = PEAK_TFLOPS.get("cuda" if opts.cuda else "cpu")
    model.train()
    while step < tc.steps and not (budget_end and time.time() >= budget_end):
        lr = tc.lr * min(1.0, (step + 1 - rewarm_from) / max(1, tc.warmup))
        for gr in opt.param_groups:
            gr["lr"] = lr
        loss = train_step(model, opt, loss_fn, tc.batch_size, opts)
        step += 1
        d = min(tc.ema_decay, (1 + step) / (10 + step)) if tc.ema_warmup else tc.ema_decay
        with torch.no_grad():
            torch._foreach_mul_(ema_params, d)
            torch._foreach_add_(ema_params, model_params, alpha=1 - d)
        loss_acc += loss.detach()  # stays on the device: no sync per step
        n_acc += 1
        elapsed = time.time() - t0
        if step % tc.log_every == 0 or step == tc.steps:
            avg = float(loss_acc) / n_acc  # the one sync per log line
            dt = max(1e-9, time.time() - last)
            rate = (step - last_step) / dt
            left = (tc.steps - step) / max(rate, 1e-9)
            if budget_end:
                left = min(left, budget_end - time.time())
            tflops = rate * tc.batch_size * flop / 1e12
            util = f" ({100 * tflops / peak:.1f}% of {peak:.0f})" if peak else ""
            log(f"[{stage}] step {step}/{tc.steps} loss {avg:.4f} lr {lr:.2e} {rate:.2f} it/s "
                f"{rate * tc.batch_size:,.0f} samples/s {tflops:.3g} TFLOP/s{util} elapsed {elapsed:.0f}s ETA {max(left, 0):.0f}s")
            loss_acc, n_acc, last, last_step = 0.0, 0, time.time(), step
        if step % tc.ckpt_every == 0:
            save()
        if opts.pack_to and time.time() - last_pack >= opts.pack_every:
            pack()
            last_pack = time.time()
    save()
    if opts.pack_to:
        pack()
    rate = (step - loop_step0) * tc.batch_size / max(1e-9, time.time() - loop_t0)
    log(f"[{stage}] done: {step} steps in {elapsed:.0f}s -> {path}; this call {rate:,.0f} samples/s, "
        f"{rate * flop / 1e12:.3g} TFLOP/s" + (f" ({100 * rate * flop / 1e12 / peak:.1f}% of {peak:.0f})" if peak else ""))
    return path


def smoke(stages, cfg_of, run_dir: str, opts: Options, log: Log):
    """The GPU call's first seconds: data present, imports, and one small forward/backward of each
    stage on the device (prior and decoder under a fresh CLIP), so a broken call fails in its
    first minute instead of after the CLIP stage."""
    clip, cfg, t = None, cfg_of(), time.time()
    dd = device_data(cfg, run_dir, opts, hi_res="upsampler" in stages)
    log(f"[smoke] data on {opts.device}: {len(dd.images)} images, {len(dd.cap_ids)} captions in {time.time() - t:.1f}s; "
        + blas_line())
    for stage in stages:
        t = time.time()
        if stage in ("prior", "decoder") and clip is None:
            clip = build_model("clip", cfg)
        model, loss_fn = prepare(stage, cfg, run_dir, opts, dd, clip=clip if stage in ("prior", "decoder") else None)
        if stage == "clip":
            clip = model
        with autocast(opts):
            loss = loss_fn(4)
        loss.backward()
        assert torch.isfinite(loss).item(), f"{stage}: loss {loss.item()}"
        log(f"[smoke] {stage}: loss {loss.item():.4f} on {opts.device} in {time.time() - t:.1f}s")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--stage", required=True, nargs="+", choices=STAGES + ("all",))
    ap.add_argument("--data", required=True, choices=("shapes", "emoji"))
    ap.add_argument("--config", required=True, choices=("tiny", "cpu", "gpu"))
    ap.add_argument("--run-dir", default=None, help="default training/runs/<data>-<config>")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--budget", type=float, default=None, help="wall-clock seconds for this stage")
    ap.add_argument("--deadline", type=float, default=None,
                    help="unix time by which the stage has stopped and saved (a budget that counts this process's start)")
    ap.add_argument("--steps", type=int, default=None, help="override the preset's step count")
    ap.add_argument("--batch-size", type=int, default=None, help="override the preset's batch size")
    ap.add_argument("--lr", type=float, default=None, help="override the preset's peak learning rate")
    ap.add_argument("--ckpt-every", type=int, default=None, help="override the preset's checkpoint interval")
    ap.add_argument("--threads", type=int, default=0, help="torch CPU threads (0 = leave)")
    ap.add_argument("--cpu-bf16", action="store_true",
                    help="bf16 autocast on the CPU (measured slower than fp32 for the v2 upsampler with torch 1.13; see README)")
    ap.add_argument("--probe", action="store_true", help="time 1x, 2x, 4x the batch first and keep the fastest")
    ap.add_argument("--compile", action="store_true", help="torch.compile the step where it exists (eager on failure)")
    ap.add_argument("--compile-limit", type=float, default=90.0, help="seconds compiling may take before eager")
    ap.add_argument("--pack-to", default=None, help="write the fp16 EMA here every --pack-every s (a GPU call's $OUT)")
    ap.add_argument("--pack-every", type=float, default=120.0)
    ap.add_argument("--smoke", action="store_true", help="one small forward/backward per stage on the device, then exit")
    args = ap.parse_args(argv)
    if args.deadline:  # the imports are behind us: what is left of the deadline is the budget
        args.budget = min(args.budget or math.inf, args.deadline - time.time())
    if args.threads:
        torch.set_num_threads(args.threads)
    cuda = args.device.startswith("cuda")
    if cuda:
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
        torch.backends.cudnn.benchmark = True  # fixed shapes: let cuDNN pick its fastest kernels
    torch.manual_seed(0)
    np.random.seed(0)
    opts = Options(device=args.device, bf16=cuda or args.cpu_bf16, channels_last=cuda, probe=args.probe,
                   compile=args.compile, compile_limit_s=args.compile_limit, pack_to=args.pack_to,
                   pack_every=args.pack_every)
    run_dir = args.run_dir or os.path.join(HERE, "runs", f"{args.data}-{args.config}")
    os.makedirs(run_dir, exist_ok=True)
    log = Log(os.path.join(run_dir, "train.log"))
    stages = STAGES if "all" in args.stage else tuple(args.stage)
    if args.smoke:
        return smoke(stages, lambda: get_config(args.data, args.config), run_dir, opts, log)
    overrides = {k: v for k, v in (("batch_size", args.batch_size), ("lr", args.lr),
                                   ("ckpt_every", args.ckpt_every)) if v is not None}
    for s in stages:
        cfg = get_config(args.data, args.config)
        train_stage(s, cfg, run_dir, args.device, args.resume, log, args.budget, args.steps, overrides, opts)


if __name__ == "__main__":
    main()
