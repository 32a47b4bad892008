// One denoising step of whichever sampler a stage uses, over a respaced trajectory: the only
// place that knows how DDIM and DPM-Solver++(2M) differ in what they need (fresh noise, the
// previous x0). Pure: loops (the pipeline's DiffusionSample, a masked inpainting loop, the
// analytic tests) keep the state and call `samplerStep` once per network output.
import type { PredictionType, SamplerName } from "@unclip/shared";
import { ddimStep, stepNeedsNoise, x0AndEps } from "./ddim.ts";
import { dpmSolver2mStep } from "./dpmSolver.ts";

type Floats = Float32Array | Float64Array;

export interface Trajectory {
  sampler: SamplerName;
  /** ᾱ over the original T timesteps, float64. */
  alphasCumprod: Float64Array;
  /** Respaced timesteps, descending (respacedTimesteps). */
  timesteps: readonly number[];
  prediction: PredictionType;
  clipX0: boolean;
  /** DDIM η (DPM-Solver++(2M) is deterministic and ignores it). */
  eta: number;
}

/** What a sampler carries from one step to the next. */
export interface SamplerState {
  /** DPM-Solver++(2M): the previous step's x0 estimate. */
  previousX0?: Float64Array;
}

/** ᾱ of the trajectory's step i (1 past the end: the clean sample). */
function alphaBarAt(t: Trajectory, i: number): number {
  return i < t.timesteps.length ? t.alphasCumprod[t.timesteps[i]] : 1;
}

/** Whether step i draws fresh noise, so callers draw it only then. */
export function samplerNeedsNoise(t: Trajectory, i: number): boolean {
  if (t.sampler !== "ddim") return false;
  return stepNeedsNoise({
    alphaBar: alphaBarAt(t, i),
    alphaBarNext: alphaBarAt(t, i + 1),
    prediction: t.prediction,
    clipX0: t.clipX0,
    eta: t.eta,
  });
}

/** Step i of the trajectory: x at timesteps[i] and the network's (guided) prediction there. */
export function samplerStep(
  t: Trajectory,
  i: number,
  x: Floats,
  pred: Floats,
  state: SamplerState,
  noise?: Floats,
): { x: Float32Array; state: SamplerState } {
  const alphaBar = alphaBarAt(t, i);
  const alphaBarNext = alphaBarAt(t, i + 1);
  if (t.sampler === "ddim") {
    const step = { alphaBar, alphaBarNext, prediction: t.prediction, clipX0: t.clipX0, eta: t.eta };
    return { x: ddimStep(x, pred, step, noise), state };
  }
  const next = dpmSolver2mStep(
    x,
    pred,
    {
      alphaBar,
      alphaBarNext,
      alphaBarPrevious: i > 0 ? alphaBarAt(t, i - 1) : undefined,
      prediction: t.prediction,
      clipX0: t.clipX0,
    },
    i > 0 ? state.previousX0 : undefined,
  );
  return { x: next.x, state: { previousX0: next.x0 } };
}

/**
 * The clean sample x0 that step i's prediction implies (clipped to [-1, 1] where the stage
 * clips), as both samplers compute it in their step 1. Streaming shows it as a partial image;
 * nothing in the loop calls it unless a partial was asked for at this step.
 */
export function predictedX0(t: Trajectory, i: number, x: Floats, pred: Floats): Float32Array {
  const { x0 } = x0AndEps(x, pred, alphaBarAt(t, i), t.prediction);
  const out = new Float32Array(x0.length);
  for (let k = 0; k < x0.length; k++) {
    out[k] = t.clipX0 ? Math.min(1, Math.max(-1, x0[k])) : x0[k];
  }
  return out;
}
