// The image service: the one path from a render job to its stored images. Each step runs
// once, in this order: the key (render/job.ts, already in the job) → the R2 cache → the key's
// GenerationFlight (single flight) → the pool → the store (both inside the flight). Routes
// and async jobs (durable/jobStore.ts) both call `renderImages`, so they share flights; a
// stream (render/stream.ts) takes its two halves, `cachedImages` then `renderMiss`, itself.
import type { StreamSubscriber } from "../durable/generationFlight.ts";
import { ApiError } from "../errors.ts";
import { isCached, readCached, readStored } from "../storage/images.ts";
import type { RenderJob } from "./job.ts";

export interface RenderOptions {
  /** The caller answers inline (b64_json) and needs the PNG bytes. */
  withImages?: boolean;
  /** An async job to tell about the pool's progress (durable/jobStore.ts). */
  watcherJobId?: string;
  /** The request asking (`x-request-id`): the pool logs it with the job this request starts. */
  requestId?: string;
  /** A streamed answer's partial images (render/stream.ts); a cache hit has none. */
  stream?: StreamSubscriber;
}

export interface RenderedImages {
  /** False when every image was already in R2 (a cache hit). */
  generated: boolean;
  /** PNGs 0..count−1, when asked for with `withImages`. */
  images?: Uint8Array[];
  /** When generated: the request id of the job that made them (this one's, or the leader's). */
  job?: string | null;
  /** True when this request rode on a job another request started (single flight). */
  joined?: boolean;
  /** The runner that made them, when known. */
  runner?: string | null;
}

export async function renderImages(
  job: RenderJob,
  env: Env,
  options: RenderOptions = {},
): Promise<RenderedImages> {
  return (
    (await cachedImages(job, env, options.withImages ?? false)) ?? renderMiss(job, env, options)
  );
}

/**
 * The cache step alone: a hit never reaches the flight. Inline answers read the bytes in the
 * same step; URL answers only need to know the objects exist. Undefined on a miss. A caller
 * that must know hit or miss before it renders (a stream's headers) takes the two steps itself.
 */
export async function cachedImages(
  job: RenderJob,
  env: Env,
  withImages: boolean,
): Promise<RenderedImages | undefined> {
  if (withImages) {
    const images = await readCached(job.key, job.count, env);
    return images && { generated: false, images };
  }
  return (await isCached(job.key, job.count, env)) ? { generated: false } : undefined;
}

/** The steps after a cache miss: the key's flight, which calls the pool and stores. */
export async function renderMiss(
  job: RenderJob,
  env: Env,
  options: RenderOptions = {},
): Promise<RenderedImages> {
  const flight = env.GENERATION_FLIGHT.get(env.GENERATION_FLIGHT.idFromName(job.key));
  const outcome = await flight.render(job, options);
  if (!outcome.ok) throw ApiError.fromJSON(outcome.error);
  if (!options.withImages || outcome.images) return outcome;
  // The flight found the images stored by a flight that ended after the cache step.
  return { ...outcome, images: await readStored(job.key, job.count, env) };
}
