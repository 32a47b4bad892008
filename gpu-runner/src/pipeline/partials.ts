// Streaming's partial images: where along an image's schedule they are taken, and how an x0
// prediction becomes one (resized to the job's size, an edit's kept pixels put back, PNG).
// The schedule is the decoder's network calls followed by each upsampler's, taken as one
// sequence: partials sit at evenly spaced calls of it, so with the shipped bundles the early
// ones show the decoder's picture forming at low resolution and the late ones the
// upsampler's sharpening. The prior is not shown: its output is an embedding, not an image.
import { base64FromBytes, type PoolPartialImage } from "@unclip/shared";
import { encodeRgbPng, resizeSquare, tensorToRgbBytes } from "../png.ts";
import type { DiffusionSampleInit } from "./diffusion.ts";

/** Per stage (0: decoder, k + 1: upsampler k): network call number (1-based) → partial index. */
export type PartialSchedule = Map<number, number>[];

/**
 * Where `count` partials are taken over stages of `stageSteps` network calls each: call
 * p_j = round((j + 1)·S / (count + 1)) of the S calls in all, j = 0..count−1, so they divide
 * the schedule into equal parts. The last call gives the final image, never a partial; a
 * schedule too short for `count` distinct calls gives fewer partials.
 */
export function partialSchedule(stageSteps: readonly number[], count: number): PartialSchedule {
  const schedule: PartialSchedule = stageSteps.map(() => new Map());
  const total = stageSteps.reduce((a, b) => a + b, 0);
  let previous = 0;
  let next = 0;
  for (let j = 0; j < count; j++) {
    const call = Math.max(previous + 1, Math.round(((j + 1) * total) / (count + 1)));
    if (call >= total) break;
    previous = call;
    // Which stage holds call number `call`, and its number within that stage.
    let stage = 0;
    let before = 0;
    while (call > before + stageSteps[stage]) before += stageSteps[stage++];
    schedule[stage].set(call - before, next++);
  }
  return schedule;
}

export interface PartialImagesInit {
  schedule: PartialSchedule;
  /** The image's place in the answer. */
  index: number;
  /** The job's output side. */
  size: number;
  /** An edit puts its kept pixels back (at `size`), as the final image does. */
  finish?(chw: Float32Array): Float32Array;
  emit(partial: PoolPartialImage): void;
}

/** One image's partials: renders each x0 it is shown, in order, off the denoising loop's path. */
export class PartialImages {
  /** Renders run one after another so partials are emitted in index order. */
  private rendering: Promise<void> = Promise.resolve();

  constructor(private readonly init: PartialImagesInit) {}

  /** The `preview` of stage `stage`'s DiffusionSample, or undefined when it shows none. */
  previewFor(stage: number): DiffusionSampleInit["preview"] {
    const at = this.init.schedule[stage];
    if (!at || at.size === 0) return undefined;
    return {
      steps: new Set(at.keys()),
      show: (step, x0) => {
        const partialIndex = at.get(step)!;
        this.rendering = this.rendering.then(() => this.render(partialIndex, x0));
      },
    };
  }

  /** Resolves once every partial shown so far was emitted (before the final image is). */
  settled(): Promise<void> {
    return this.rendering;
  }

  private async render(partialIndex: number, x0: Float32Array): Promise<void> {
    const { size, finish, index } = this.init;
    const side = Math.round(Math.sqrt(x0.length / 3));
    const resized = resizeSquare(x0, 3, side, size);
    const png = await encodeRgbPng(
      tensorToRgbBytes(finish ? finish(resized) : resized, size),
      size,
    );
    this.init.emit({
      index,
      partial_image_index: partialIndex,
      png_b64: base64FromBytes(png),
      width: size,
      height: size,
    });
  }
}
