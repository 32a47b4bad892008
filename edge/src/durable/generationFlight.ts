// GenerationFlight: one object per cache key, so identical misses that arrive together are
// rendered by one pool call and every waiter gets its outcome (single flight).

import { DurableObject } from "cloudflare:workers";
import type { PoolProgressEvent } from "@unclip/shared";
import type { RenderJob } from "../cache/render.ts";
import { isCached, storeImages, verifyPoolImages } from "../cache/store.ts";
import { ApiError, type SerializedApiError } from "../errors.ts";
import { callPool } from "../pool/client.ts";

export type FlightOutcome =
  | { ok: true; generated: boolean }
  | { ok: false; error: SerializedApiError };

interface Flight {
  count: number;
  outcome: Promise<FlightOutcome>;
}

export class GenerationFlight extends DurableObject<Env> {
  #flight: Flight | undefined;
  /** Async jobs waiting on this key, told about the pool's progress. */
  #watchers = new Set<string>();

  async render(job: RenderJob, watcherJobId?: string): Promise<FlightOutcome> {
    if (watcherJobId) this.#watchers.add(watcherJobId);
    try {
      // Join a flight that renders at least the images this request needs.
      while (this.#flight) {
        const flight = this.#flight;
        const outcome = await flight.outcome;
        if (flight.count >= job.count) return outcome;
      }
      if (await isCached(job.key, job.count, this.env)) return { ok: true, generated: false };
      if (this.#flight) return this.render(job);
      const flight: Flight = { count: job.count, outcome: this.#fly(job) };
      this.#flight = flight;
      try {
        return await flight.outcome;
      } finally {
        if (this.#flight === flight) this.#flight = undefined;
      }
    } finally {
      if (watcherJobId) this.#watchers.delete(watcherJobId);
    }
  }

  async #fly(job: RenderJob): Promise<FlightOutcome> {
    try {
      const onProgress =
        this.#watchers.size > 0 ? (e: PoolProgressEvent) => this.#tell(e) : undefined;
      const response = await callPool(job.operation, job.payload, this.env, { onProgress });
      await storeImages(job, await verifyPoolImages(job, response), this.env);
      return { ok: true, generated: true };
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
