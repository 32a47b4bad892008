"""Dataclass configs for every model and training stage, with `tiny`, `cpu` and `gpu` presets.

A checkpoint stores the `asdict` of its config, so export and resume never guess shapes.
"""
from dataclasses import asdict, dataclass, field, replace


@dataclass
class ClipConfig:
    vocab_size: int = 0          # filled in from the tokenizer at build time
    context_length: int = 16     # L: token ids per prompt, [BOS] … [EOS] then [PAD]=0
    text_width: int = 64         # W: width of the text transformer (text_tokens last dim)
    text_layers: int = 2         # transformer blocks in the text encoder
    text_heads: int = 4          # attention heads in the text encoder
    image_resolution: int = 16   # R: square input of the image encoder
    image_channels: tuple = (16, 32, 64)  # conv widths, one stride-2 stage each
    embed_dim: int = 32          # D: joint embedding size (image_embed / text_embed)


@dataclass
class PriorConfig:
    embed_dim: int = 32          # D: must equal ClipConfig.embed_dim
    context_length: int = 16     # L: must equal ClipConfig.context_length
    text_width: int = 64         # W: must equal ClipConfig.text_width
    width: int = 64              # transformer width
    layers: int = 2              # transformer blocks
    heads: int = 4               # attention heads
    timesteps: int = 1000        # T of the cosine schedule
    embedding_scale: float = 0.0  # x = image_embed * scale; 0 means sqrt(D) (unit per-dim std)


@dataclass
class UNetConfig:
    in_channels: int = 3         # 3 for the decoder; the upsampler concatenates low_res (6)
    out_channels: int = 3        # prediction channels
    resolution: int = 16         # native output resolution (the upsampler trains on crops of it)
    base_channels: int = 32      # channels at full resolution
    channel_mults: tuple = (1, 2, 2)  # one level per entry; each level after the first halves H, W
    blocks_per_level: int = 1    # ResBlocks per level (encoder side; decoder side has +1)
    attention_levels: tuple = (1, 2)  # levels with (cross-)attention; () for none
    heads: int = 4               # attention heads
    dropout: float = 0.0         # dropout inside ResBlocks
    embed_dim: int = 0           # D of the CLIP image embedding (0: no embedding conditioning)
    text_width: int = 0          # W of the text tokens (0: no text conditioning)
    context_length: int = 0      # L of the text tokens
    embed_tokens: int = 4        # extra context tokens projected from the image embedding
    low_res: int = 0             # upsampler only: resolution of the low_res input (0: decoder)
    timesteps: int = 1000        # T of the schedule


@dataclass
class TrainConfig:
    steps: int = 200             # optimizer steps (a run stops at steps or at budget_s)
    batch_size: int = 32         # samples per step
    lr: float = 1e-3             # peak AdamW learning rate
    warmup: int = 100            # linear warm-up steps
    weight_decay: float = 0.0    # AdamW weight decay
    ema_decay: float = 0.999     # EMA of the weights (the EMA is what ships)
    ema_warmup: bool = True      # EMA decay ramps as min(decay, (1+n)/(10+n)) so short runs still work
    budget_s: float = 0.0        # wall-clock budget in seconds; 0 = none
    log_every: int = 20          # progress line every N steps
    ckpt_every: int = 500        # checkpoint every N steps (and at the end)
    crop: int = 0                # upsampler: random crop size of the high-res target (0 = none)


@dataclass
class BundleConfig:
    name: str = "tiny"                     # preset name (tiny / cpu / gpu)
    data: str = "shapes"                   # dataset: shapes | emoji
    clip: ClipConfig = field(default_factory=ClipConfig)
    prior: PriorConfig = field(default_factory=PriorConfig)
    decoder: UNetConfig = field(default_factory=UNetConfig)
    upsampler: UNetConfig = field(default_factory=UNetConfig)
    train: dict = field(default_factory=dict)  # stage -> TrainConfig
    n_train: int = 2000                    # shapes: rendered training images
    flip: bool = False                     # horizontal flips (never for shapes: "top left")
    vocab_size: int = 4096                 # BPE vocabulary trained on the captions (bytes + merges + specials)
    default_steps: dict = field(default_factory=lambda: {"prior": 25, "decoder": 25, "upsampler": 10})  # manifest
    sampler: str = "ddim"                  # the sampler default_steps are meant for (manifest, eval)


def _train(**kw):
    return TrainConfig(**kw)


def get_config(data: str, preset: str) -> BundleConfig:
    """The preset for one dataset. Shapes: decoder R, one upsampler R -> 2R. Emoji (model v2):
    decoder R, one upsampler R -> 4R (64 -> 256 px, as unCLIP's 64 -> 256 stage)."""
    assert data in ("shapes", "emoji"), f"unknown dataset {data!r}"
    assert preset in ("tiny", "cpu", "gpu"), f"unknown preset {preset!r}"
    if data == "emoji":
        return _emoji_v2(preset)
    if preset == "tiny":
        L, W, D, R = 16, 32, 16, 16
        clip = ClipConfig(context_length=L, text_width=W, text_layers=1, text_heads=2,
                          image_resolution=R, image_channels=(8, 16, 32), embed_dim=D)
        prior = PriorConfig(embed_dim=D, context_length=L, text_width=W, width=32, layers=1, heads=2)
        dec = UNetConfig(resolution=R, base_channels=16, channel_mults=(1, 2), attention_levels=(1,),
                         heads=2, embed_dim=D, text_width=W, context_length=L, embed_tokens=4)
        up = UNetConfig(in_channels=6, resolution=2 * R, low_res=R, base_channels=8,
                        channel_mults=(1, 2), attention_levels=())
        train = {"clip": _train(steps=150, batch_size=64, lr=2e-3, warmup=20, ema_decay=0.99),
                 "prior": _train(steps=150, batch_size=64, lr=1e-3, warmup=20, ema_decay=0.99),
                 "decoder": _train(steps=600, batch_size=32, lr=2e-3, warmup=30, ema_decay=0.995),
                 "upsampler": _train(steps=600, batch_size=16, lr=2e-3, warmup=20, ema_decay=0.995, crop=16)}
        n_train = 2000
    else:
        # cpu and gpu share the 32 px base / 64 px upsampler (the 64 px PNGs bound us) and nets
        # small enough that two bundles stay under 60 MB of fp32 ONNX; gpu has wider nets
        # (decoder 48 vs 32 channels) and ~10x the steps at 4x the batch.
        L, W, D, R = 16, 96, 64, 32
        gpu = preset == "gpu"
        clip = ClipConfig(context_length=L, text_width=W, text_layers=3, text_heads=4,
                          image_resolution=R, image_channels=(32, 64, 128, 128), embed_dim=D)
        prior = PriorConfig(embed_dim=D, context_length=L, text_width=W, width=128, layers=4, heads=4)
        dec = UNetConfig(resolution=R, base_channels=48 if gpu else 32, channel_mults=(1, 2, 3) if gpu else (1, 2, 2),
                         attention_levels=(1, 2), heads=4, embed_dim=D, text_width=W, context_length=L, embed_tokens=4)
        up = UNetConfig(in_channels=6, resolution=2 * R, low_res=R, base_channels=24 if gpu else 16,
                        channel_mults=(1, 2, 2), attention_levels=())
        if gpu:
            train = {"clip": _train(steps=20000, batch_size=512, lr=1e-3, warmup=200, ema_decay=0.995, log_every=200, ckpt_every=2000),
                     "prior": _train(steps=20000, batch_size=512, lr=5e-4, warmup=200, ema_decay=0.999, log_every=200, ckpt_every=2000),
                     "decoder": _train(steps=50000, batch_size=128, lr=1e-3, warmup=300, ema_decay=0.9995,
                                       log_every=250, ckpt_every=2000),
                     "upsampler": _train(steps=50000, batch_size=64, lr=1e-3, warmup=300, ema_decay=0.9995, crop=32,
                                         log_every=250, ckpt_every=2000)}
            n_train = 30000
        else:
            train = {"clip": _train(steps=1500, batch_size=128, lr=1e-3, warmup=100, ema_decay=0.995, log_every=50),
                     "prior": _train(steps=2000, batch_size=128, lr=5e-4, warmup=100, ema_decay=0.995, log_every=50),
                     "decoder": _train(steps=4000, batch_size=32, lr=1e-3, warmup=200, ema_decay=0.999, log_every=50),
                     "upsampler": _train(steps=1500, batch_size=16, lr=1e-3, warmup=100, ema_decay=0.999, crop=32, log_every=50)}
            n_train = 20000
    return BundleConfig(name=preset, data=data, clip=clip, prior=prior, decoder=dec, upsampler=up,
                        train=train, n_train=n_train, flip=(data == "emoji"))


def _emoji_v2(preset: str) -> BundleConfig:
    """Model v2: 64 px decoder and a 64 -> 256 upsampler trained on 64 px crops. Sizes are set by
    CPU serving, not GPU training: at 10 decoder steps (x2 for guidance) and 5 upsampler steps
    a 256 px image is ~69 GMAC (decoder 2.3, upsampler 4.5 GMAC per call), which 2 cores run in
    a few seconds; 18.2 M parameters are ~73 MB of fp32 ONNX (under the 80 MB bundle budget).
    `tiny` keeps the shape of the hierarchy (R -> 4R) at 16 -> 64 px for the CI smoke and rehearsal."""
    if preset == "tiny":
        L, W, D, R = 32, 32, 16, 16
        clip = ClipConfig(context_length=L, text_width=W, text_layers=1, text_heads=2,
                          image_resolution=R, image_channels=(8, 16, 32), embed_dim=D)
        prior = PriorConfig(embed_dim=D, context_length=L, text_width=W, width=32, layers=1, heads=2)
        dec = UNetConfig(resolution=R, base_channels=16, channel_mults=(1, 2), attention_levels=(1,),
                         heads=2, embed_dim=D, text_width=W, context_length=L, embed_tokens=4)
        up = UNetConfig(in_channels=6, resolution=4 * R, low_res=R, base_channels=8,
                        channel_mults=(1, 2), attention_levels=())
        train = {"clip": _train(steps=150, batch_size=64, lr=2e-3, warmup=20, ema_decay=0.99),
                 "prior": _train(steps=150, batch_size=64, lr=1e-3, warmup=20, ema_decay=0.99),
                 "decoder": _train(steps=400, batch_size=32, lr=2e-3, warmup=30, ema_decay=0.995),
                 "upsampler": _train(steps=400, batch_size=16, lr=2e-3, warmup=20, ema_decay=0.995, crop=32)}
        return BundleConfig(name=preset, data="emoji", clip=clip, prior=prior, decoder=dec, upsampler=up,
                            train=train, flip=True, vocab_size=4096,
                            default_steps={"prior": 20, "decoder": 10, "upsampler": 5}, sampler="dpmpp_2m")
    L, W, D, R = 32, 128, 128, 64
    clip = ClipConfig(context_length=L, text_width=W, text_layers=4, text_heads=4, image_resolution=R,
                      image_channels=(32, 64, 128, 256, 256), embed_dim=D)
    prior = PriorConfig(embed_dim=D, context_length=L, text_width=W, width=256, layers=6, heads=8)
    dec = UNetConfig(resolution=R, base_channels=48, channel_mults=(1, 2, 3, 4), attention_levels=(2, 3),
                     heads=4, embed_dim=D, text_width=W, context_length=L, embed_tokens=4, dropout=0.1)
    up = UNetConfig(in_channels=6, resolution=4 * R, low_res=R, base_channels=16, channel_mults=(1, 2, 4, 4),
                    attention_levels=())
    if preset == "gpu":  # step counts are ceilings: gpu_run.sh stops every stage at its time budget
        train = {"clip": _train(steps=30000, batch_size=512, lr=1e-3, warmup=300, ema_decay=0.995, log_every=200, ckpt_every=1000),
                 "prior": _train(steps=60000, batch_size=512, lr=5e-4, warmup=300, ema_decay=0.999, log_every=200, ckpt_every=1000),
                 "decoder": _train(steps=100000, batch_size=128, lr=5e-4, warmup=500, ema_decay=0.9995,
                                   log_every=250, ckpt_every=1000),
                 "upsampler": _train(steps=100000, batch_size=32, lr=5e-4, warmup=500, ema_decay=0.9995, crop=64,
                                     log_every=250, ckpt_every=1000)}
    else:
        train = {"clip": _train(steps=1500, batch_size=128, lr=1e-3, warmup=100, ema_decay=0.995, log_every=50),
                 "prior": _train(steps=2000, batch_size=128, lr=5e-4, warmup=100, ema_decay=0.995, log_every=50),
                 "decoder": _train(steps=4000, batch_size=16, lr=5e-4, warmup=200, ema_decay=0.999, log_every=25),
                 "upsampler": _train(steps=1500, batch_size=8, lr=5e-4, warmup=100, ema_decay=0.999, crop=64, log_every=25)}
    # steps sized for 2 CPU cores (~4 s per 256 px image); a DPM-Solver++ sampler needs fewer than DDIM
    return BundleConfig(name=preset, data="emoji", clip=clip, prior=prior, decoder=dec, upsampler=up,
                        train=train, flip=True, vocab_size=4096,
                        default_steps={"prior": 20, "decoder": 10, "upsampler": 5}, sampler="dpmpp_2m")


def to_dict(cfg) -> dict:
    return asdict(cfg)


def from_dict(cls, d: dict):
    """Rebuild a config dataclass from a checkpoint's dict (tuples come back as lists)."""
    fields = {k: (tuple(v) if isinstance(v, list) else v) for k, v in d.items()}
    return cls(**fields)


__all__ = ["ClipConfig", "PriorConfig", "UNetConfig", "TrainConfig", "BundleConfig", "get_config",
           "to_dict", "from_dict", "replace"]
