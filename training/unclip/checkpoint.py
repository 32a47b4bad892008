"""Checkpoints carry their BundleConfig: rebuild any stage, or the whole pipeline, from a run directory.

Two forms of `<stage>.pt`, both read by everything here:
- a training checkpoint (train.py): config, stage, step, elapsed, model, ema, opt, params, device;
- a packed one: the same without model and opt, its EMA in fp16 (what a GPU call returns, what
  training/checkpoints/ commits, what a continuation resumes from). A packed file over the
  part size is split into <stage>.pt.000, .001, ... (a GPU call returns files of at most 16 MiB).
"""
import glob
import io
import os

import torch

from .clip import CLIP
from .config import BundleConfig, ClipConfig, PriorConfig, TrainConfig, UNetConfig, from_dict
from .decoder import Decoder
from .prior import Prior
from .upsampler import Upsampler


def bundle_from_dict(d: dict) -> BundleConfig:
    return BundleConfig(name=d["name"], data=d["data"], clip=from_dict(ClipConfig, d["clip"]),
                        prior=from_dict(PriorConfig, d["prior"]), decoder=from_dict(UNetConfig, d["decoder"]),
                        upsampler=from_dict(UNetConfig, d["upsampler"]),
                        train={k: from_dict(TrainConfig, v) for k, v in d["train"].items()},
                        n_train=d["n_train"], flip=d["flip"],
                        **{k: d[k] for k in ("vocab_size", "default_steps", "sampler") if k in d})


def build_model(stage: str, cfg: BundleConfig) -> torch.nn.Module:
    return {"clip": lambda: CLIP(cfg.clip), "prior": lambda: Prior(cfg.prior),
            "decoder": lambda: Decoder(cfg.decoder), "upsampler": lambda: Upsampler(cfg.upsampler)}[stage]()


PACKED_KEYS = ("config", "stage", "step", "elapsed", "params", "device")
PART_MB = 15.0


def part_paths(path: str) -> list:
    return sorted(glob.glob(glob.escape(path) + ".[0-9][0-9][0-9]"))


def stage_exists(run_dir: str, stage: str) -> bool:
    path = os.path.join(run_dir, f"{stage}.pt")
    return os.path.exists(path) or bool(part_paths(path))


def load_checkpoint(path: str, device="cpu") -> dict:
    """A stage checkpoint from `path`, or from its parts path.000, path.001, ... when split."""
    parts = part_paths(path)
    if os.path.exists(path) or not parts:
        return torch.load(path, map_location=device, weights_only=False)
    return torch.load(io.BytesIO(b"".join(open(p, "rb").read() for p in parts)), map_location=device,
                      weights_only=False)


def packed_stage(cfg_dict: dict, stage: str, step: int, elapsed: float, ema_state: dict, params: int, device: str) -> dict:
    """The packed form of a stage: its EMA in fp16 with its config (no model, no optimizer)."""
    return {"config": cfg_dict, "stage": stage, "step": step, "elapsed": elapsed, "params": params, "device": device,
            "ema": {k: (v.detach().half() if v.is_floating_point() else v.detach()).cpu() for k, v in ema_state.items()}}


def pack_checkpoint(ck: dict) -> dict:
    """A training checkpoint (or a packed one) as a packed one."""
    return packed_stage(ck["config"], ck["stage"], ck["step"], ck["elapsed"], ck["ema"], ck.get("params", 0),
                        ck.get("device", "cpu"))


def save_packed(out_dir: str, stage: str, packed: dict, part_mb: float = PART_MB) -> list:
    """Write out_dir/<stage>.pt, split into .000, .001, ... parts when over part_mb MB. The parts
    are written under temporary names and renamed together, and stale files of the other form
    are removed, so a reader finds one complete version."""
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, f"{stage}.pt")
    buf = io.BytesIO()
    torch.save(packed, buf)
    data = buf.getvalue()
    size = int(part_mb * 1e6)
    names = [path] if len(data) <= size else [f"{path}.{k // size:03d}" for k in range(0, len(data), size)]
    for k, name in enumerate(names):
        with open(name + ".tmp", "wb") as f:
            f.write(data[k * size:(k + 1) * size] if len(names) > 1 else data)
    for name in names:
        os.replace(name + ".tmp", name)
    for old in part_paths(path) + ([path] if os.path.exists(path) else []):
        if old not in names:  # the other form, or parts a larger version had
            os.remove(old)
    return names


def load_stage(run_dir: str, stage: str, device="cpu"):
    """The EMA weights of a trained stage, in eval mode, with the checkpoint's own config."""
    ck = load_checkpoint(os.path.join(run_dir, f"{stage}.pt"))
    cfg = bundle_from_dict(ck["config"])
    model = build_model(stage, cfg)
    model.load_state_dict({k: v.float() for k, v in ck["ema"].items()})
    return model.to(device).eval(), cfg, ck



def load_pipeline(run_dir: str):
    """All four stages (EMA weights) + tokenizer of a run directory as a Pipeline."""
    from .pipeline import Pipeline
    from .tokenizer import load_tokenizer
    clip, cfg, _ = load_stage(run_dir, "clip")
    prior, _, _ = load_stage(run_dir, "prior")
    decoder, _, _ = load_stage(run_dir, "decoder")
    upsampler, _, _ = load_stage(run_dir, "upsampler")
    tok = load_tokenizer(os.path.join(run_dir, "tokenizer.json"), cfg.clip.context_length)
    pipe = Pipeline(clip, prior, decoder, upsampler, tok, cfg)
    pipe.sampler = cfg.sampler  # the sampler the bundle's default steps are meant for
    return pipe
