// GenerationFlight: one object per cache key, so identical misses that arrive together are
// rendered by one pool call and every waiter gets its outcome (single flight). The flight
// verifies and stores the pool's images and hands the stored bytes back to whoever asks, so
// an inline answer never reads back from R2 what was just written.

import { DurableObject } from "cloudflare:workers";
import type { PoolProgressEvent } from "@unclip/shared";
import { ApiError, type SerializedApiError } from "../errors.ts";
import { callPool } from "../pool/client.ts";
import type { RenderJob } from "../render/job.ts";
import { isCached, storeImages, verifyPoolImages } from "../storage/images.ts";

export interface FlightOptions {
  /**
   * Hand back the PNG bytes (for an inline answer); URL answers need none over RPC. At most
   * n ≤ 10 PNGs of ≤ 1024²: well under the 32 MiB limit of one Durable Object RPC answer.
   */
  withImages?: boolean;
  /** An async job (JobStore id) to tell about the pool's progress while it waits. */
  watcherJobId?: string;
}

export type FlightOutcome =
  | {
      ok: true;
      /** False when the images were already stored and no pool call was made. */
      generated: boolean;
      /** Images 0..count−1 of the request, when asked for and rendered by this flight. */
      images?: Uint8Array[];
    }
  | { ok: false; error: SerializedApiError };

/** What one pool call produced, shared by every request that joined it. */
type FlightResult = { ok: true; images: Uint8Array[] } | { ok: false; error: SerializedApiError };

interface Flight {
  count: number;
  result: Promise<FlightResult>;
}

export class GenerationFlight extends DurableObject<Env> {
  #flight: Flight | undefined;
  /** Async jobs waiting on this key, told about the pool's progress. */
  #watchers = new Set<string>();

  async render(job: RenderJob, options: FlightOptions = {}): Promise<FlightOutcome> {
    const { watcherJobId } = options;
    if (watcherJobId) this.#watchers.add(watcherJobId);
    try {
      return await this.#join(job, options.withImages ?? false);
    } finally {
      if (watcherJobId) this.#watchers.delete(watcherJobId);
    }
  }

  async #join(job: RenderJob, withImages: boolean): Promise<FlightOutcome> {
    // Join a flight that renders at least the images this request needs.
    while (this.#flight) {
      const flight = this.#flight;
      const result = await flight.result;
      if (flight.count >= job.count) return outcomeOf(result, job.count, withImages);
    }
    // The race this second check guards: a flight for this key finished (and stored its
    // images) between the image service's cache check in the Worker and this call.
    if (await isCached(job.key, job.count, this.env)) return { ok: true, generated: false };
    // Another request started a flight while this one awaited R2: join it instead.
    if (this.#flight) return this.#join(job, withImages);
    const flight: Flight = { count: job.count, result: this.#fly(job) };
    this.#flight = flight;
    try {
      return outcomeOf(await flight.result, job.count, withImages);
    } finally {
      if (this.#flight === flight) this.#flight = undefined;
    }
  }

  async #fly(job: RenderJob): Promise<FlightResult> {
    try {
      const onProgress =
        this.#watchers.size > 0 ? (e: PoolProgressEvent) => this.#tell(e) : undefined;
      const response = await callPool(job.operation, job.payload, this.env, { onProgress });
      const verified = await verifyPoolImages(job, response);
      await storeImages(job, verified, this.env);
      return { ok: true, images: verified.map((image) => image.bytes) };
    } catch (error) {
      if (error instanceof ApiError) return { ok: false, error: error.toJSON() };
      console.error(`edge: flight ${job.key} failed`, error);
      return {
        ok: false,
        error: new ApiError(500, "Rendering failed unexpectedly.", null, "internal_error").toJSON(),
      };
    }
  }

  /** Latest progress not yet told to the watchers; one report in flight at a time. */
  #pendingProgress: PoolProgressEvent | undefined;
  #reporting = false;

  #tell(event: PoolProgressEvent): void {
    this.#pendingProgress = event;
    if (!this.#reporting) void this.#report();
  }

  async #report(): Promise<void> {
    this.#reporting = true;
    try {
      while (this.#pendingProgress) {
        const event = this.#pendingProgress;
        this.#pendingProgress = undefined;
        await Promise.all(
          [...this.#watchers].map((jobId) =>
            this.env.JOBS.get(this.env.JOBS.idFromName(jobId))
              .progress(event)
              .catch((error: unknown) => {
                console.error(`edge: could not report progress to job ${jobId}`, error);
              }),
          ),
        );
      }
    } finally {
      this.#reporting = false;
    }
  }
}

function outcomeOf(result: FlightResult, count: number, withImages: boolean): FlightOutcome {
  if (!result.ok) return result;
  return {
    ok: true,
    generated: true,
    ...(withImages ? { images: result.images.slice(0, count) } : {}),
  };
}
