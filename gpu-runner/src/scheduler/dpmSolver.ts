// DPM-Solver++(2M) (Lu et al. 2022, "DPM-Solver++: Fast Solver for Guided Sampling of Diffusion
// Probabilistic Models", Algorithm 2) as a pure step function over typed arrays. It integrates
// the same probability-flow ODE as deterministic DDIM, but in the data-prediction form with a
// second-order multistep correction, so it reaches DDIM's quality in far fewer network calls.
// The caller keeps the previous step's x0 estimate (the only state) and passes it back in.
// Arithmetic is float64, x is stored as float32 between steps, as in
// training/unclip/diffusion.py `dpmpp_2m_sample`.
import type { PredictionType } from "@unclip/shared";
import { x0AndEps } from "./ddim.ts";

type Floats = Float32Array | Float64Array;

export interface DpmSolverStep {
  /** ᾱ at the current timestep t_{i−1}. */
  alphaBar: number;
  /** ᾱ at the next (smaller) respaced timestep t_i; 1 after the last step. */
  alphaBarNext: number;
  /** ᾱ at the previous (larger) timestep t_{i−2}, when `previousX0` is given. */
  alphaBarPrevious?: number;
  prediction: PredictionType;
  /** Clip the x0 estimate to [-1, 1] before it enters the update (images yes, embeddings no). */
  clipX0: boolean;
}

/** λ_t = log(α_t / σ_t) with α_t = √ᾱ, σ_t = √(1−ᾱ): half the log-SNR (eq. 3 of the paper). */
export function logSnrHalf(alphaBar: number): number {
  return 0.5 * (Math.log(alphaBar) - Math.log1p(-alphaBar));
}

/**
 * One DPM-Solver++(2M) update, x_{t_{i−1}} → x_{t_i}:
 *   1. x0_{i−1} from the prediction, clipped to [−1, 1] if clipX0;
 *   2. h_i = λ_{t_i} − λ_{t_{i−1}};
 *   3. D = x0_{i−1} (first order: the first step, or a step onto σ = 0 where h = ∞), else
 *      r_i = h_{i−1}/h_i and D = (1 + 1/(2r_i)) x0_{i−1} − 1/(2r_i) x0_{i−2} (Algorithm 2);
 *   4. x_{t_i} = (σ_{t_i}/σ_{t_{i−1}}) x_{t_{i−1}} − α_{t_i} (e^{−h_i} − 1) D.
 * Returns the new x and this step's x0 (the `previousX0` of the next call).
 */
export function dpmSolver2mStep(
  x: Floats,
  pred: Floats,
  step: DpmSolverStep,
  previousX0?: Float64Array,
): { x: Float32Array; x0: Float64Array } {
  const { alphaBar, alphaBarNext } = step;
  const { x0 } = x0AndEps(x, pred, alphaBar, step.prediction);
  if (step.clipX0) for (let i = 0; i < x0.length; i++) x0[i] = Math.min(1, Math.max(-1, x0[i]));
  const out = new Float32Array(x.length);
  // Onto the clean sample (σ = 0, λ = ∞) every first-order solver returns x0 itself.
  if (alphaBarNext >= 1) {
    for (let i = 0; i < x.length; i++) out[i] = x0[i];
    return { x: out, x0 };
  }
  const sigmaRatio = Math.sqrt((1 - alphaBarNext) / (1 - alphaBar));
  const h = logSnrHalf(alphaBarNext) - logSnrHalf(alphaBar);
  const cD = -Math.sqrt(alphaBarNext) * Math.expm1(-h);
  let c0 = 1;
  let c1 = 0;
  if (previousX0 !== undefined) {
    if (step.alphaBarPrevious === undefined || previousX0.length !== x.length) {
      throw new Error(
        `dpmSolver2mStep: a second-order step needs alphaBarPrevious and a previous x0 of length ${x.length}`,
      );
    }
    const hPrevious = logSnrHalf(alphaBar) - logSnrHalf(step.alphaBarPrevious);
    const r = hPrevious / h;
    c0 = 1 + 1 / (2 * r);
    c1 = -1 / (2 * r);
  }
  for (let i = 0; i < x.length; i++) {
    const d = c1 === 0 ? x0[i] : c0 * x0[i] + c1 * previousX0![i];
    out[i] = sigmaRatio * x[i] + cD * d;
  }
  return { x: out, x0 };
}
