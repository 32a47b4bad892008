import math

import numpy as np
import pytest
import torch

from unclip.diffusion import (Diffusion, alphas_cumprod_for, betas_for, ddim_sample, dpmpp_2m_sample,
                              respaced_timesteps, solver_timesteps)


def test_cosine_schedule_follows_nichol_and_dhariwal():
    T, s = 1000, 0.008
    f = lambda t: math.cos(((t / T) + s) / (1 + s) * math.pi / 2) ** 2  # noqa: E731
    b = betas_for("cosine", T)
    assert b[0] == pytest.approx(1 - f(1) / f(0), abs=1e-15)
    assert b.max() <= 0.999
    ab = alphas_cumprod_for("cosine", T)
    assert np.all(np.diff(ab) < 0) and 0 < ab[-1] < 1e-4


def test_linear_schedule_spans_1e_4_to_0_02():
    b = betas_for("linear", 1000)
    assert b[0] == pytest.approx(1e-4) and b[-1] == pytest.approx(0.02)


def test_respacing_is_descending_deduplicated_and_ends_at_zero():
    assert respaced_timesteps(1000, 4) == [999, 666, 333, 0]
    assert respaced_timesteps(3, 10) == [2, 1, 0]


@pytest.mark.parametrize("prediction", ["eps", "x0", "v"])
@pytest.mark.parametrize("sample", [ddim_sample, dpmpp_2m_sample], ids=["ddim", "dpmpp_2m"])
def test_an_oracle_network_makes_the_sampler_return_the_clean_sample(sample, prediction):
    d = Diffusion("cosine", 1000, prediction)
    x0 = torch.rand(2, 3, 4, 4) * 1.6 - 0.8

    def oracle(x, t, cond):
        ab = torch.tensor(d.alphas_cumprod[int(t[0])], dtype=torch.float64)
        eps = (x.double() - ab.sqrt() * x0.double()) / (1 - ab).sqrt()
        return {"eps": eps, "x0": x0.double(), "v": ab.sqrt() * eps - (1 - ab).sqrt() * x0.double()}[prediction].float()

    out = sample(oracle, x0.shape, d, 5, generator=torch.Generator().manual_seed(0))
    assert torch.allclose(out, x0, atol=1e-4)


def test_recorded_noises_replay_an_eta_1_loop_exactly():
    d = Diffusion("cosine", 1000, "v")
    fn = lambda x, t, cond: 0.1 * x + (0.2 if cond else 0.0)  # noqa: E731
    rec = {}
    a = ddim_sample(fn, (2, 3), d, 4, guidance=3.0, eta=1.0, generator=torch.Generator().manual_seed(1), record=rec)
    assert len(rec["noises"]) == 3  # the last step has sigma = 0
    b = ddim_sample(fn, (2, 3), d, 4, guidance=3.0, eta=1.0, x_T=rec["x_T"], noises=rec["noises"] + [None])
    assert torch.equal(a, b)


def test_the_training_target_matches_the_prediction_type():
    x0, noise, t = torch.randn(4, 3), torch.randn(4, 3), torch.tensor([0, 10, 500, 999])
    d = Diffusion("cosine", 1000, "v")
    ab = torch.tensor(d.alphas_cumprod[t.numpy()], dtype=torch.float32)[:, None]
    assert torch.allclose(d.target(x0, t, noise), ab.sqrt() * noise - (1 - ab).sqrt() * x0, atol=1e-6)
    assert torch.allclose(d.q_sample(x0, t, noise), ab.sqrt() * x0 + (1 - ab).sqrt() * noise, atol=1e-6)


def test_solver_timesteps_skip_zero_and_land_on_the_clean_sample():
    assert solver_timesteps(1000, 4) == [999, 749, 500, 250]
    assert solver_timesteps(1000, 1) == [999]


def test_dpmpp_2m_beats_ddim_on_gaussian_data_at_equal_steps():
    """x0 ~ N(mu, s^2): the exact denoiser is linear and the ODE keeps z = (x - a mu)/sqrt(a^2 s^2 + s_t^2)."""
    mu, s = 0.5, 1.5
    d = Diffusion("cosine", 1000, "x0")

    def exact(x, t, cond):
        ab = float(d.alphas_cumprod[int(t[0])])
        a, sig = math.sqrt(ab), math.sqrt(1 - ab)
        return mu + a * s ** 2 / (a * a * s ** 2 + sig ** 2) * (x.double() - a * mu)

    x_T = torch.randn(2000, 1, generator=torch.Generator().manual_seed(3))
    ab_T = float(d.alphas_cumprod[-1])
    truth = mu + s * (x_T.double() - math.sqrt(ab_T) * mu) / math.sqrt(ab_T * s ** 2 + 1 - ab_T)
    err = lambda out: float((out.double() - truth).abs().max()) / s  # noqa: E731
    dpm = err(dpmpp_2m_sample(exact, x_T.shape, d, 20, clip_x0=False, x_T=x_T))
    ddim = err(ddim_sample(exact, x_T.shape, d, 20, clip_x0=False, x_T=x_T))
    assert dpm < 0.08 and dpm * 2.5 < ddim
