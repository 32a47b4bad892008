import torch

from unclip.checkpoint import build_model
from unclip.config import get_config


def tiny():
    cfg = get_config("shapes", "tiny")
    cfg.clip.vocab_size = 40
    return cfg


def test_a_fully_masked_text_gives_finite_prior_and_decoder_outputs():
    cfg = tiny()
    L, W, D, R = cfg.clip.context_length, cfg.clip.text_width, cfg.clip.embed_dim, cfg.decoder.resolution
    prior, dec = build_model("prior", cfg).eval(), build_model("decoder", cfg).eval()
    z = torch.zeros
    p = prior(torch.randn(2, D), torch.tensor([0.0, 999.0]), z(2, D), z(2, L, W), z(2, L))
    d = dec(torch.randn(2, 3, R, R), torch.tensor([0.0, 999.0]), z(2, D), z(2, L, W), z(2, L))
    assert torch.isfinite(p).all() and torch.isfinite(d).all()


def test_samples_in_a_batch_do_not_influence_each_other():
    cfg = tiny()
    L, W, D, R = cfg.clip.context_length, cfg.clip.text_width, cfg.clip.embed_dim, cfg.decoder.resolution
    dec = build_model("decoder", cfg).eval()
    for p in dec.parameters():
        torch.nn.init.normal_(p, std=0.05)
    args = (torch.randn(3, 3, R, R), torch.tensor([5.0, 500.0, 900.0]), torch.randn(3, D), torch.randn(3, L, W), torch.ones(3, L))
    with torch.no_grad():
        full = dec(*args)
        one = dec(*(a[1:2] for a in args))
    assert torch.allclose(full[1:2], one, atol=1e-5)


def test_clip_embeddings_are_unit_norm_and_text_tokens_have_width_w():
    cfg = tiny()
    clip = build_model("clip", cfg).eval()
    ids = torch.tensor([[2, 5, 6, 3] + [0] * (cfg.clip.context_length - 4)])
    te, tt = clip.encode_text(ids)
    ie = clip.encode_image(torch.rand(1, 3, cfg.clip.image_resolution, cfg.clip.image_resolution) * 2 - 1)
    assert torch.allclose(te.norm(dim=-1), torch.ones(1)) and torch.allclose(ie.norm(dim=-1), torch.ones(1))
    assert tt.shape == (1, cfg.clip.context_length, cfg.clip.text_width)


def test_the_upsampler_output_has_the_target_resolution():
    cfg = tiny()
    up = build_model("upsampler", cfg).eval()
    R1, R2 = cfg.upsampler.low_res, cfg.upsampler.resolution
    out = up(torch.randn(2, 3, R2, R2), torch.tensor([1.0, 2.0]), torch.randn(2, 3, R1, R1))
    assert out.shape == (2, 3, R2, R2)
