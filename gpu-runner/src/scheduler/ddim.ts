// DDIM (Song et al. 2021) as pure functions over typed arrays: classifier-free guidance mixing,
// prediction conversions (Salimans & Ho 2022) and one update step. No model or runtime import:
// the denoising loop lives in the pipeline. Arithmetic is float64, x is stored as float32
// between steps, as in training/unclip/diffusion.py `ddim_sample`.
import type { PredictionType } from "@unclip/shared";

type Floats = Float32Array | Float64Array;

/** Classifier-free guidance (Ho & Salimans 2022): u + s·(c − u), on the raw network output. */
export function guide(cond: Floats, uncond: Floats, scale: number): Float64Array {
  const out = new Float64Array(cond.length);
  for (let i = 0; i < cond.length; i++) out[i] = uncond[i] + scale * (cond[i] - uncond[i]);
  return out;
}

export interface DdimStep {
  /** ᾱ at the current timestep t. */
  alphaBar: number;
  /** ᾱ at the next (smaller) respaced timestep; 1 after the last step. */
  alphaBarNext: number;
  prediction: PredictionType;
  /** Clip the x0 estimate to [-1, 1] (images yes, the prior's embeddings no). */
  clipX0: boolean;
  /** 0: deterministic DDIM; 1: ancestral sampling with DDPM's posterior variance. */
  eta: number;
}

/** Step 1: the clean sample x0 and the noise eps implied by the network's prediction. */
export function x0AndEps(
  x: Floats,
  pred: Floats,
  alphaBar: number,
  prediction: PredictionType,
): { x0: Float64Array; eps: Float64Array } {
  const a = Math.sqrt(alphaBar);
  const s = Math.sqrt(1 - alphaBar);
  const x0 = new Float64Array(x.length);
  const eps = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const xi = x[i];
    const p = pred[i];
    if (prediction === "v") {
      x0[i] = a * xi - s * p; // x0 = √ᾱ x_t − √(1−ᾱ) v
      eps[i] = s * xi + a * p; // eps = √(1−ᾱ) x_t + √ᾱ v
    } else if (prediction === "x0") {
      x0[i] = p;
      eps[i] = (xi - a * p) / s;
    } else {
      eps[i] = p;
      x0[i] = (xi - s * p) / a;
    }
  }
  return { x0, eps };
}

/** σ_t of DDIM eq. 16: η √((1−ᾱ')/(1−ᾱ)) √(1 − ᾱ/ᾱ'). */
export function ddimSigma(alphaBar: number, alphaBarNext: number, eta: number): number {
  if (eta <= 0) return 0;
  return (
    eta * Math.sqrt((1 - alphaBarNext) / (1 - alphaBar)) * Math.sqrt(1 - alphaBar / alphaBarNext)
  );
}

/** Whether a step with these settings draws fresh noise (so callers draw it only then). */
export function stepNeedsNoise(step: DdimStep): boolean {
  return ddimSigma(step.alphaBar, step.alphaBarNext, step.eta) > 0;
}

/**
 * One DDIM update (Song et al. 2021 eq. 12), x_t → x_{t'}:
 *   1. x0, eps from the prediction;
 *   2. if clipX0: x0 ← clip(x0, −1, 1), eps ← (x_t − √ᾱ x0)/√(1−ᾱ);
 *   3. σ from eq. 16;
 *   4. x' = √ᾱ' x0 + √(1 − ᾱ' − σ²) eps + σ z.
 */
export function ddimStep(x: Floats, pred: Floats, step: DdimStep, noise?: Floats): Float32Array {
  const { alphaBar, alphaBarNext } = step;
  const { x0, eps } = x0AndEps(x, pred, alphaBar, step.prediction);
  if (step.clipX0) {
    const a = Math.sqrt(alphaBar);
    const s = Math.sqrt(1 - alphaBar);
    for (let i = 0; i < x0.length; i++) {
      x0[i] = Math.min(1, Math.max(-1, x0[i]));
      eps[i] = (x[i] - a * x0[i]) / s;
    }
  }
  const sigma = ddimSigma(alphaBar, alphaBarNext, step.eta);
  if (sigma > 0 && (noise === undefined || noise.length !== x.length)) {
    throw new Error(`ddimStep: eta > 0 needs a noise array of length ${x.length}`);
  }
  const cx0 = Math.sqrt(alphaBarNext);
  const ceps = Math.sqrt(Math.max(1 - alphaBarNext - sigma * sigma, 0));
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) {
    let v = cx0 * x0[i] + ceps * eps[i];
    if (sigma > 0) v += sigma * noise![i];
    out[i] = v;
  }
  return out;
}
