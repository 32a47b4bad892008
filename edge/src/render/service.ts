// The image service: the one path from a render job to its stored images. Each step runs
// once, in this order: the key (render/job.ts, already in the job) → the R2 cache → the key's
// GenerationFlight (single flight) → the pool → the store (both inside the flight). Routes
// and async jobs (durable/jobStore.ts) both call `renderImages`, so they share flights.
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
  const withImages = options.withImages ?? false;
  // The cache: a hit never reaches the flight. Inline answers read the bytes in the same
  // step; URL answers only need to know the objects exist.
  if (withImages) {
    const images = await readCached(job.key, job.count, env);
    if (images) return { generated: false, images };
  } else if (await isCached(job.key, job.count, env)) {
    return { generated: false };
  }
  const flight = env.GENERATION_FLIGHT.get(env.GENERATION_FLIGHT.idFromName(job.key));
  const outcome = await flight.render(job, options);
  if (!outcome.ok) throw ApiError.fromJSON(outcome.error);
  if (!withImages || outcome.images) return outcome;
  // The flight found the images stored by a flight that ended after the check above.
  return { ...outcome, images: await readStored(job.key, job.count, env) };
}
