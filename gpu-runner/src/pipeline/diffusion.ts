// One sample being denoised by one diffusion stage, as a work item for the batcher:
// each call it offers x_t and its own timestep (plus the unconditional row when guided), and
// on the outputs it applies guidance and one step of its sampler (DDIM or DPM-Solver++(2M)).
// The denoising loop is this item passing through the batcher once per timestep.
import type { PredictionType, SamplerName } from "@unclip/shared";
import type { BatchedJob, FeedRow, WorkItem } from "../batching/batcher.ts";
import { gaussianNoise } from "../noise.ts";
import { guide } from "../scheduler/ddim.ts";
import {
  predictedX0,
  type SamplerState,
  samplerNeedsNoise,
  samplerStep,
  type Trajectory,
} from "../scheduler/sampler.ts";
import { timestepsFor } from "../scheduler/schedule.ts";

/** The fixed diffusion process of one stage of the bundle. */
export interface DiffusionProcess {
  /** Scheduler stage key, e.g. "decoder" or "upsampler_0". */
  stage: string;
  prediction: PredictionType;
  /** ᾱ over the original T timesteps, float64. */
  alphasCumprod: Float64Array;
  /** Images are clipped to [-1, 1] at each x0 estimate; the prior's embeddings are not. */
  clipX0: boolean;
  /** NOISE_STAGE code of this stage's noise stream. */
  noiseStage: number;
  /** Name of the prediction output (Contract 4 in docs/ARCHITECTURE.md: "pred"). */
  output: string;
}

export interface DiffusionSampleInit {
  process: DiffusionProcess;
  job: BatchedJob;
  /** Initial noise x_T (copied, never mutated). */
  x: Float32Array;
  sampler: SamplerName;
  /** Network evaluations (one per timestep). */
  steps: number;
  /** 1 runs the conditional row only (as the Python sampler does); otherwise u + s(c − u). */
  guidance: number;
  /** DDIM η; DPM-Solver++(2M) is deterministic. */
  eta: number;
  /** Inputs other than x_t and timestep, per sample. */
  conditional: Record<string, Float32Array>;
  /** The same inputs with the conditioning dropped; required when guidance ≠ 1. */
  unconditional?: Record<string, Float32Array>;
  /** Seed and image index of the step noise (η > 0). */
  seed: number;
  index: number;
  onStep?(step: number, total: number): void;
  /** Replaces the seeded step noise (golden tests replay the Python sampler's noise). */
  stepNoise?(step: number): Float32Array;
  /**
   * Rewrites x_T and each step's result, given that sample's ᾱ (1 after the last step):
   * masked sampling puts an edit's kept pixels back at that noise level (pipeline/inpaint.ts).
   */
  constrain?(x: Float32Array, alphaBar: number, step: number): Float32Array;
  /**
   * Streaming: after the network calls numbered in `steps` (1-based), the x0 the prediction
   * implies is handed to `show`. Absent, the loop computes nothing extra.
   */
  preview?: { steps: ReadonlySet<number>; show(step: number, x0: Float32Array): void };
}

export class DiffusionSample implements WorkItem {
  readonly stage: string;
  readonly job: BatchedJob;
  readonly timesteps: number[];
  private readonly trajectory: Trajectory;
  private x: Float32Array;
  private samplerState: SamplerState = {};
  private stepIndex = 0;

  constructor(private readonly init: DiffusionSampleInit) {
    this.stage = init.process.stage;
    this.job = init.job;
    const { process } = init;
    this.timesteps = timestepsFor(init.sampler, process.alphasCumprod.length, init.steps);
    this.x = init.constrain
      ? init.constrain(init.x, process.alphasCumprod[this.timesteps[0]], 0)
      : init.x;
    this.trajectory = {
      sampler: init.sampler,
      alphasCumprod: process.alphasCumprod,
      timesteps: this.timesteps,
      prediction: process.prediction,
      clipX0: process.clipX0,
      eta: init.eta,
    };
    if (this.guided && !init.unconditional) {
      throw new Error(`${this.stage}: guidance ${init.guidance} needs unconditional inputs`);
    }
  }

  get guided(): boolean {
    return this.init.guidance !== 1;
  }

  /** The current x: the final sample once all steps are done. */
  get sample(): Float32Array {
    return this.x;
  }

  rows(): FeedRow[] {
    const base = {
      x_t: this.x,
      timestep: Float32Array.of(this.timesteps[this.stepIndex]),
    };
    const rows: FeedRow[] = [{ ...this.init.conditional, ...base }];
    if (this.guided) rows.push({ ...this.init.unconditional!, ...base });
    return rows;
  }

  consume(outputs: Record<string, Float32Array>[]): boolean {
    const { process } = this.init;
    const name = process.output;
    const pred = this.guided
      ? guide(outputs[0][name], outputs[1][name], this.init.guidance)
      : outputs[0][name];
    const i = this.stepIndex;
    if (this.init.preview?.steps.has(i + 1)) {
      this.init.preview.show(i + 1, predictedX0(this.trajectory, i, this.x, pred));
    }
    const noise = !samplerNeedsNoise(this.trajectory, i)
      ? undefined
      : this.init.stepNoise
        ? this.init.stepNoise(i)
        : gaussianNoise(
            {
              seed: this.init.seed,
              index: this.init.index,
              stage: process.noiseStage,
              step: i + 1,
            },
            this.x.length,
          );
    ({ x: this.x, state: this.samplerState } = samplerStep(
      this.trajectory,
      i,
      this.x,
      pred,
      this.samplerState,
      noise,
    ));
    if (this.init.constrain) {
      const next = i + 1 < this.timesteps.length ? process.alphasCumprod[this.timesteps[i + 1]] : 1;
      this.x = this.init.constrain(this.x, next, i + 1);
    }
    this.stepIndex += 1;
    this.init.onStep?.(this.stepIndex, this.timesteps.length);
    return this.stepIndex === this.timesteps.length;
  }
}

/** A single-call item (text or image encoder): feeds in, outputs kept. */
export class EncoderCall implements WorkItem {
  outputs: Record<string, Float32Array>[] = [];
  constructor(
    readonly stage: string,
    readonly job: BatchedJob,
    private readonly feeds: FeedRow[],
  ) {}
  rows(): FeedRow[] {
    return this.feeds;
  }
  consume(outputs: Record<string, Float32Array>[]): boolean {
    this.outputs = outputs;
    return true;
  }
}
