// Noise schedules and DDIM respacing, computed in float64 exactly as training/unclip/diffusion.py
// computes them, so a bundle's network sees the same timesteps and alphas on both sides.
import type { NoiseSchedule, SamplerName } from "@unclip/shared";

/** numpy.linspace(start, stop, num): y[i] = i·step + start, last element pinned to stop. */
export function linspace(start: number, stop: number, num: number): Float64Array {
  const out = new Float64Array(num);
  if (num === 1) {
    out[0] = start;
    return out;
  }
  const step = (stop - start) / (num - 1);
  for (let i = 0; i < num; i++) out[i] = i * step + start;
  out[num - 1] = stop;
  return out;
}

/** Python's round(): halves go to the even neighbour (numpy float64 rounds the same way). */
export function roundHalfEven(x: number): number {
  const floor = Math.floor(x);
  const diff = x - floor;
  if (diff < 0.5) return floor;
  if (diff > 0.5) return floor + 1;
  return floor % 2 === 0 ? floor : floor + 1;
}

/**
 * (T,) betas. cosine: Nichol & Dhariwal 2021 eq. 17 with s = 0.008, each beta capped at 0.999;
 * linear: Ho et al. 2020, linspace(1e-4, 0.02, T).
 */
export function betasFor(schedule: NoiseSchedule): Float64Array {
  const T = schedule.timesteps;
  if (schedule.name === "linear") return linspace(1e-4, 0.02, T);
  const s = 0.008;
  // Same operation order as the Python expression, so the float64 results agree.
  const f = (t: number) => Math.cos((((t / T + s) / (1 + s)) * Math.PI) / 2) ** 2;
  const betas = new Float64Array(T);
  for (let t = 0; t < T; t++) betas[t] = Math.min(1 - f(t + 1) / f(t), 0.999);
  return betas;
}

/** ᾱ_t = ∏_{s≤t} (1 − β_s), float64. */
export function alphasCumprodFor(schedule: NoiseSchedule): Float64Array {
  const betas = betasFor(schedule);
  const out = new Float64Array(betas.length);
  let acc = 1;
  for (let t = 0; t < betas.length; t++) {
    acc *= 1 - betas[t];
    out[t] = acc;
  }
  return out;
}

/** DDIM respacing: round(linspace(T−1, 0, S)), descending, consecutive duplicates removed. */
export function respacedTimesteps(T: number, steps: number): number[] {
  const out: number[] = [];
  for (const x of linspace(T - 1, 0, steps)) {
    const t = roundHalfEven(x);
    if (out.length === 0 || out[out.length - 1] !== t) out.push(t);
  }
  return out;
}

/**
 * DPM-Solver++ timesteps: round(linspace(T−1, 0, S+1)) without its last entry, descending,
 * duplicates removed; the step after the last one lands on the clean sample (σ = 0). Unlike
 * DDIM's respacing this never evaluates the network at t = 0, whose tiny σ makes the λ-step
 * onto it huge and the second-order extrapolation across it unstable (measured on the
 * Gaussian case in analytic.test.ts: 10 steps, error 0.37 s with t = 0, 0.065 s without).
 */
export function solverTimesteps(T: number, steps: number): number[] {
  const out: number[] = [];
  for (const x of linspace(T - 1, 0, steps + 1).subarray(0, steps)) {
    const t = roundHalfEven(x);
    if (out.length === 0 || out[out.length - 1] !== t) out.push(t);
  }
  return out;
}

/** The timesteps a sampler visits in `steps` network evaluations. */
export function timestepsFor(sampler: SamplerName, T: number, steps: number): number[] {
  // NaN or 0 steps would give no timesteps, a sample that never finishes (requests are checked
  // by the protocol schema; this keeps any other caller from building one)
  if (!Number.isInteger(steps) || steps < 1) {
    throw new RangeError(`steps must be a positive integer (got ${steps})`);
  }
  return sampler === "ddim" ? respacedTimesteps(T, steps) : solverTimesteps(T, steps);
}
