"""Checkpoints carry their BundleConfig: rebuild any stage, or the whole pipeline, from a run directory."""
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


def load_stage(run_dir: str, stage: str, device="cpu"):
    """The EMA weights of a trained stage, in eval mode, with the checkpoint's own config."""
    ck = torch.load(os.path.join(run_dir, f"{stage}.pt"), map_location="cpu", weights_only=False)
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
