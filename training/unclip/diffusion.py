"""Gaussian diffusion around the bare networks: schedules, q_sample, prediction conversions,
training loss and a DDIM sampler with respacing and classifier-free guidance.

Schedules are computed in float64 exactly as the TypeScript runner computes them.
"""
import math

import numpy as np
import torch


def betas_for(name: str, T: int) -> np.ndarray:
    """(T,) float64 betas. cosine: Nichol & Dhariwal 2021 eq. 17, s = 0.008, betas capped at 0.999."""
    if name == "linear":
        return np.linspace(1e-4, 0.02, T, dtype=np.float64)
    assert name == "cosine", f"unknown schedule {name!r}"
    s = 0.008
    f = lambda t: math.cos(((t / T) + s) / (1 + s) * math.pi / 2) ** 2  # noqa: E731
    return np.array([min(1 - f(t + 1) / f(t), 0.999) for t in range(T)], dtype=np.float64)


def alphas_cumprod_for(name: str, T: int) -> np.ndarray:
    return np.cumprod(1.0 - betas_for(name, T))


def respaced_timesteps(T: int, steps: int) -> list:
    """Descending, deduplicated round(linspace(T-1, 0, S)) — the DDIM respacing both sides use."""
    ts = [int(round(x)) for x in np.linspace(T - 1, 0, steps)]
    out = []
    for t in ts:
        if not out or out[-1] != t:
            out.append(t)
    return out


class Diffusion:
    """Noise process for one model; `prediction` is what the network outputs (eps | x0 | v)."""

    def __init__(self, schedule: str = "cosine", T: int = 1000, prediction: str = "v"):
        assert prediction in ("eps", "x0", "v"), prediction
        self.schedule, self.T, self.prediction = schedule, T, prediction
        self.alphas_cumprod = alphas_cumprod_for(schedule, T)  # (T,) float64
        self._ab = torch.tensor(self.alphas_cumprod, dtype=torch.float32)

    def _coef(self, t: torch.Tensor, ndim: int):
        if self._ab.device != t.device:  # moved once: a copy from host memory per step would stall the GPU queue
            self._ab = self._ab.to(t.device)
        ab = self._ab[t.long()]
        shape = (-1,) + (1,) * (ndim - 1)
        return ab.sqrt().view(shape), (1 - ab).sqrt().view(shape)

    def q_sample(self, x0, t, noise):
        """x_t = sqrt(ab) x0 + sqrt(1-ab) eps (Ho et al. eq. 4)."""
        a, s = self._coef(t, x0.dim())
        return a * x0 + s * noise

    def target(self, x0, t, noise):
        if self.prediction == "eps":
            return noise
        if self.prediction == "x0":
            return x0
        a, s = self._coef(t, x0.dim())
        return a * noise - s * x0  # v = sqrt(ab) eps - sqrt(1-ab) x0 (Salimans & Ho 2022)

    def loss(self, model_fn, x0, **cond):
        """MSE between the network output and its target at uniform random t."""
        t = torch.randint(0, self.T, (x0.shape[0],), device=x0.device)
        noise = torch.randn_like(x0)
        x_t = self.q_sample(x0, t, noise)
        pred = model_fn(x_t, t.float(), **cond)
        return torch.mean((pred.float() - self.target(x0, t, noise)) ** 2)


def guided_prediction(model_fn, x, t_vec, guidance: float) -> torch.Tensor:
    """Classifier-free guidance u + s (c - u) in float64; one conditional call when s = 1."""
    with torch.no_grad():
        if guidance == 1.0:
            return model_fn(x, t_vec, True).double()
        c = model_fn(x, t_vec, True).double()
        u = model_fn(x, t_vec, False).double()
        return u + guidance * (c - u)


def ddim_sample(model_fn, shape, diffusion: Diffusion, steps: int, guidance: float = 1.0,
                eta: float = 0.0, clip_x0: bool = True, generator=None, x_T=None, noises=None,
                record=None):
    """DDIM (Song et al. 2021, eq. 12) over respaced timesteps, in float64 update arithmetic.

    model_fn(x_t, t, cond: bool) -> prediction; with guidance != 1 it is called for the
    conditional and unconditional halves and mixed as u + g (c - u) on the raw prediction.
    Per step, with ab = alphas_cumprod[t], ab' = alphas_cumprod[t_next] (1 at the end):
      1. x0, eps from the prediction (v: x0 = sqrt(ab) x_t - sqrt(1-ab) v, eps = sqrt(1-ab) x_t + sqrt(ab) v)
      2. if clip_x0: x0 = clip(x0, -1, 1) and eps = (x_t - sqrt(ab) x0) / sqrt(1-ab)
      3. sigma = eta sqrt((1-ab')/(1-ab)) sqrt(1 - ab/ab')
      4. x' = sqrt(ab') x0 + sqrt(1 - ab' - sigma^2) eps + sigma z
    x is stored as float32 between steps. `record`, when a dict, receives the noises used.
    """
    ab_all = diffusion.alphas_cumprod
    ts = respaced_timesteps(diffusion.T, steps)
    x = x_T if x_T is not None else torch.randn(shape, generator=generator)
    x = x.float()
    if record is not None:
        record["x_T"] = x.clone()
        record["noises"] = []
        record["timesteps"] = ts
    for i, t in enumerate(ts):
        t_vec = torch.full((shape[0],), float(t))
        pred = guided_prediction(model_fn, x, t_vec, guidance)
        xd = x.double()
        ab = float(ab_all[t])
        ab_next = float(ab_all[ts[i + 1]]) if i + 1 < len(ts) else 1.0
        if diffusion.prediction == "v":
            x0 = math.sqrt(ab) * xd - math.sqrt(1 - ab) * pred
            eps = math.sqrt(1 - ab) * xd + math.sqrt(ab) * pred
        elif diffusion.prediction == "x0":
            x0 = pred
            eps = (xd - math.sqrt(ab) * x0) / math.sqrt(1 - ab)
        else:
            eps = pred
            x0 = (xd - math.sqrt(1 - ab) * eps) / math.sqrt(ab)
        if clip_x0:
            x0 = x0.clamp(-1, 1)
            eps = (xd - math.sqrt(ab) * x0) / math.sqrt(1 - ab)
        sigma = eta * math.sqrt((1 - ab_next) / (1 - ab)) * math.sqrt(1 - ab / ab_next) if eta > 0 else 0.0
        x_new = math.sqrt(ab_next) * x0 + math.sqrt(max(1 - ab_next - sigma ** 2, 0.0)) * eps
        if sigma > 0:
            z = noises[i] if noises is not None else torch.randn(shape, generator=generator)
            if record is not None:
                record["noises"].append(z.clone())
            x_new = x_new + sigma * z.double()
        x = x_new.float()
    return x


def solver_timesteps(T: int, steps: int) -> list:
    """DPM-Solver++ timesteps: round(linspace(T-1, 0, S+1)) minus its last entry, deduplicated;
    the step after the last lands on the clean sample (sigma = 0). t = 0 is never evaluated: its
    tiny sigma makes the lambda-step onto it huge and the 2nd-order extrapolation unstable."""
    ts = [int(round(x)) for x in np.linspace(T - 1, 0, steps + 1)[:steps]]
    out = []
    for t in ts:
        if not out or out[-1] != t:
            out.append(t)
    return out


def _half_log_snr(ab: float) -> float:
    """lambda_t = log(alpha_t / sigma_t), alpha = sqrt(ab), sigma = sqrt(1 - ab)."""
    return 0.5 * (math.log(ab) - math.log1p(-ab))


def dpmpp_2m_sample(model_fn, shape, diffusion: Diffusion, steps: int, guidance: float = 1.0,
                    clip_x0: bool = True, generator=None, x_T=None, record=None):
    """DPM-Solver++(2M) (Lu et al. 2022, Algorithm 2) over `solver_timesteps`, float64 update
    arithmetic, x stored as float32 between steps; guidance as in ddim_sample. Per step
    t_{i-1} -> t_i (ab' = 1 after the last timestep):
      1. x0 from the prediction (as in ddim_sample), clipped to [-1, 1] if clip_x0
      2. h = lambda(ab') - lambda(ab)
      3. D = x0 on the first step or onto sigma = 0; else r = h_prev / h and
         D = (1 + 1/(2r)) x0 - 1/(2r) x0_prev
      4. x' = (sigma'/sigma) x - alpha' (e^{-h} - 1) D   (x' = x0 when ab' = 1)
    """
    ab_all = diffusion.alphas_cumprod
    ts = solver_timesteps(diffusion.T, steps)
    x = (x_T if x_T is not None else torch.randn(shape, generator=generator)).float()
    if record is not None:
        record["x_T"] = x.clone()
        record["timesteps"] = ts
    x0_prev, h_prev = None, None
    for i, t in enumerate(ts):
        t_vec = torch.full((shape[0],), float(t))
        pred = guided_prediction(model_fn, x, t_vec, guidance)
        xd = x.double()
        ab = float(ab_all[t])
        ab_next = float(ab_all[ts[i + 1]]) if i + 1 < len(ts) else 1.0
        if diffusion.prediction == "v":
            x0 = math.sqrt(ab) * xd - math.sqrt(1 - ab) * pred
        elif diffusion.prediction == "x0":
            x0 = pred
        else:
            x0 = (xd - math.sqrt(1 - ab) * pred) / math.sqrt(ab)
        if clip_x0:
            x0 = x0.clamp(-1, 1)
        if ab_next >= 1.0:
            x = x0.float()
            break
        h = _half_log_snr(ab_next) - _half_log_snr(ab)
        if x0_prev is None:
            d = x0
        else:
            r = h_prev / h
            d = (1 + 1 / (2 * r)) * x0 - (1 / (2 * r)) * x0_prev
        x = (math.sqrt((1 - ab_next) / (1 - ab)) * xd - math.sqrt(ab_next) * math.expm1(-h) * d).float()
        x0_prev, h_prev = x0, h
    return x


def sample(sampler: str, model_fn, shape, diffusion: Diffusion, steps: int, guidance: float = 1.0,
           clip_x0: bool = True, generator=None):
    """The manifest's sampler names: "ddim" (eta 0) or "dpmpp_2m"."""
    assert sampler in ("ddim", "dpmpp_2m"), f"unknown sampler {sampler!r}"
    if sampler == "ddim":
        return ddim_sample(model_fn, shape, diffusion, steps, guidance, clip_x0=clip_x0, generator=generator)
    return dpmpp_2m_sample(model_fn, shape, diffusion, steps, guidance, clip_x0=clip_x0, generator=generator)
