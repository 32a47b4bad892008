// The samplers against a case with a known answer and no trained model. For Gaussian data
// x0 ~ N(μ, s²) the exact denoiser is E[x0 | x_t] = μ + α s²/(α² s² + σ²) · (x_t − α μ), and the
// probability-flow ODE that DDIM (η = 0) and DPM-Solver++ integrate is linear: it keeps
// z = (x_t − α_t μ)/√(α_t² s² + σ_t²) fixed. So each sample's exact end point is μ + s·z_T, and
// the sampled distribution must be N(μ, s²). A solver with a wrong update misses both.
import { describe, expect, it } from "vitest";
import { gaussianNoise } from "../noise.ts";
import { type SamplerState, samplerStep, type Trajectory } from "./sampler.ts";
import { alphasCumprodFor, timestepsFor } from "./schedule.ts";

const alphasCumprod = alphasCumprodFor({ name: "cosine", timesteps: 1000 });
// Per-dimension data means and spreads: narrow, unit and wide, so the ODE bends differently.
const MU = [0.5, -1.5, 0, 2];
const S = [0.5, 1, 1.5, 2.5];
const D = MU.length;

/** The exact prediction of each type for Gaussian data at ᾱ. */
function exactPrediction(x: Float32Array, alphaBar: number, prediction: "eps" | "x0" | "v") {
  const a = Math.sqrt(alphaBar);
  const s = Math.sqrt(1 - alphaBar);
  return Float64Array.from(x, (xi, i) => {
    const d = i % D;
    const x0 = MU[d] + ((a * S[d] ** 2) / (a * a * S[d] ** 2 + s * s)) * (xi - a * MU[d]);
    const eps = (xi - a * x0) / s;
    return prediction === "x0" ? x0 : prediction === "eps" ? eps : a * eps - s * x0;
  });
}

/** x_T for `samples` samples, drawn the way the runner draws initial noise. */
function initialNoise(samples: number): Float32Array {
  return gaussianNoise({ seed: 7, index: 0, stage: 1, step: 0 }, samples * D);
}

function sample(
  sampler: Trajectory["sampler"],
  steps: number,
  prediction: "eps" | "x0" | "v",
  xT: Float32Array,
) {
  const trajectory: Trajectory = {
    sampler,
    alphasCumprod,
    timesteps: timestepsFor(sampler, 1000, steps),
    prediction,
    clipX0: false,
    eta: 0,
  };
  let x = xT;
  let state: SamplerState = {};
  trajectory.timesteps.forEach((t, i) => {
    ({ x, state } = samplerStep(
      trajectory,
      i,
      x,
      exactPrediction(x, alphasCumprod[t], prediction),
      state,
    ));
  });
  return x;
}

/** Where the exact ODE takes each x_T: μ + s·z with z fixed along the flow. */
function exactEndPoints(xT: Float32Array): Float64Array {
  const aT = Math.sqrt(alphasCumprod[999]);
  const sT = Math.sqrt(1 - alphasCumprod[999]);
  return Float64Array.from(xT, (xi, i) => {
    const d = i % D;
    return MU[d] + S[d] * ((xi - aT * MU[d]) / Math.sqrt(aT * aT * S[d] ** 2 + sT * sT));
  });
}

/** Largest per-sample error relative to each dimension's spread s. */
function maxRelativeError(x: Float32Array, exact: Float64Array): number {
  let worst = 0;
  for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(x[i] - exact[i]) / S[i % D]);
  return worst;
}

/** Per-dimension sample variance over true variance s². */
function varianceRatios(x: Float32Array): number[] {
  const n = x.length / D;
  return MU.map((mu, d) => {
    let sq = 0;
    for (let k = 0; k < n; k++) sq += (x[k * D + d] - mu) ** 2;
    return sq / n / S[d] ** 2;
  });
}

describe("samplers on Gaussian data (exact denoiser, known answer)", () => {
  const xT = initialNoise(4000);
  const exact = exactEndPoints(xT);
  const err = (
    sampler: "ddim" | "dpmpp_2m",
    steps: number,
    prediction: "eps" | "x0" | "v" = "x0",
  ) => maxRelativeError(sample(sampler, steps, prediction, xT), exact);

  for (const prediction of ["x0", "v", "eps"] as const) {
    it(`DPM-Solver++(2M) with a ${prediction} network lands every sample within 4% of s of the exact ODE solution in 50 steps`, () => {
      expect(err("dpmpp_2m", 50, prediction)).toBeLessThan(0.04);
    });
  }

  it("DPM-Solver++(2M) is second order: doubling 20 → 40 steps cuts its error about threefold or more, DDIM's twofold", () => {
    const dpmRatio = err("dpmpp_2m", 20) / err("dpmpp_2m", 40);
    const ddimRatio = err("ddim", 20) / err("ddim", 40);
    expect(dpmRatio).toBeGreaterThan(2.6);
    expect(ddimRatio).toBeGreaterThan(1.7);
    expect(ddimRatio).toBeLessThan(2.3);
    // At the same budget it is the more accurate of the two by a wide margin.
    expect(err("dpmpp_2m", 20) * 2.5).toBeLessThan(err("ddim", 20));
  });

  it("DPM-Solver++(2M) samples N(μ, s²): means within 4 standard errors, variances within 6%", () => {
    const x = sample("dpmpp_2m", 50, "v", xT);
    const n = x.length / D;
    for (let d = 0; d < D; d++) {
      let sum = 0;
      for (let k = 0; k < n; k++) sum += x[k * D + d];
      expect(Math.abs(sum / n - MU[d])).toBeLessThan((4 * S[d]) / Math.sqrt(n));
    }
    for (const ratio of varianceRatios(x)) expect(Math.abs(ratio - 1)).toBeLessThan(0.06);
  });

  it("DPM-Solver++(2M) in 20 steps keeps more of the data's variance than DDIM in 50", () => {
    const ours = varianceRatios(sample("dpmpp_2m", 20, "v", xT));
    const ddim = varianceRatios(sample("ddim", 50, "v", xT));
    for (const [d, ratio] of ours.entries()) {
      expect(Math.abs(ratio - 1)).toBeLessThan(Math.abs(ddim[d] - 1));
    }
  });
});
