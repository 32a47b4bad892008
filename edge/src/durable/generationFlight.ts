// GenerationFlight: one object per cache key, so identical misses that arrive together are
// rendered by one pool call and every waiter gets its outcome (single flight). The flight
// verifies and stores the pool's images and hands the stored bytes back to whoever asks, so
// an inline answer never reads back from R2 what was just written.

import { DurableObject } from "cloudflare:workers";
import { newRequestId, type PoolProgressEvent } from "@unclip/shared";
import { ApiError, type SerializedApiError } from "../errors.ts";
import { logEvent } from "../observability/log.ts";
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
  /** The asking request's id: the pool logs the id of the request that started its job. */
  requestId?: string;
}

export type FlightOutcome =
  | {
      ok: true;
      /** False when the images were already stored and no pool call was made. */
      generated: boolean;
      /** Images 0..count−1 of the request, when asked for and rendered by this flight. */
      images?: Uint8Array[];
      /** The request id that started the pool job (null: nothing was generated). */
      job: string | null;
      /** This request joined a job another request started. */
      joined: boolean;
      /** The runner that answered. */
      runner: string | null;
    }
  | { ok: false; error: SerializedApiError };

/** What one pool call produced, shared by every request that joined it. */
type FlightResult =
  | { ok: true; images: Uint8Array[]; runner: string | null }
  | { ok: false; error: SerializedApiError };

interface Flight {
  count: number;
  result: Promise<FlightResult>;
  /** The request id that started it: the pool job's `request_id`. */
  leader: string;
  /** Request ids that joined it, logged with the flight's line. */
  joined: string[];
}

/** One JSON log line, the same shape as the request lines (observability/requestRecord.ts). */
function logFlight({ msg, ...fields }: { msg: string } & Record<string, unknown>): void {
  logEvent("info", msg, fields);
}

export class GenerationFlight extends DurableObject<Env> {
  #flight: Flight | undefined;
  /** Async jobs waiting on this key, told about the pool's progress. */
  #watchers = new Set<string>();

  async render(job: RenderJob, options: FlightOptions = {}): Promise<FlightOutcome> {
    const { watcherJobId } = options;
    if (watcherJobId) this.#watchers.add(watcherJobId);
    try {
      const requestId = options.requestId ?? watcherJobId ?? newRequestId();
      return await this.#join(job, options.withImages ?? false, requestId);
    } finally {
      if (watcherJobId) this.#watchers.delete(watcherJobId);
    }
  }

  async #join(job: RenderJob, withImages: boolean, requestId: string): Promise<FlightOutcome> {
    // Join a flight that renders at least the images this request needs.
    while (this.#flight) {
      const flight = this.#flight;
      flight.joined.push(requestId);
      logFlight({ msg: "flight joined", request_id: requestId, job: flight.leader, key: job.key });
      const result = await flight.result;
      if (flight.count >= job.count) {
        return outcomeOf(result, job.count, withImages, flight.leader, true);
      }
    }
    // The race this second check guards: a flight for this key finished (and stored its
    // images) between the image service's cache check in the Worker and this call.
    if (await isCached(job.key, job.count, this.env)) {
      return { ok: true, generated: false, job: null, joined: false, runner: null };
    }
    // Another request started a flight while this one awaited R2: join it instead.
    if (this.#flight) return this.#join(job, withImages, requestId);
    const joined: string[] = [];
    const flight: Flight = {
      count: job.count,
      leader: requestId,
      joined,
      result: this.#fly(job, requestId, joined),
    };
    this.#flight = flight;
    try {
      return outcomeOf(await flight.result, job.count, withImages, requestId, false);
    } finally {
      if (this.#flight === flight) this.#flight = undefined;
    }
  }

  /** The pool call of a flight, then one log line: which request ids rode on which job. */
  async #fly(job: RenderJob, leader: string, joined: string[]): Promise<FlightResult> {
    const started = Date.now();
    const result = await this.#callAndStore(job, leader);
    logFlight({
      msg: "flight",
      job: leader,
      key: job.key,
      joined,
      runner: result.ok ? result.runner : null,
      status: result.ok ? 200 : result.error.status,
      error: result.ok ? null : result.error.body.error.code,
      images: result.ok ? result.images.length : 0,
      latency_ms: Date.now() - started,
    });
    return result;
  }

  async #callAndStore(job: RenderJob, leader: string): Promise<FlightResult> {
    let runner: string | null = null;
    try {
      const onProgress =
        this.#watchers.size > 0 ? (e: PoolProgressEvent) => this.#tell(e) : undefined;
      const response = await callPool(
        job.operation,
        { ...job.payload, request_id: leader },
        this.env,
        {
          onProgress,
          onAnswer: (answered) => {
            runner = answered;
          },
        },
      );
      const verified = await verifyPoolImages(job, response);
      await storeImages(job, verified, this.env);
      return { ok: true, images: verified.map((image) => image.bytes), runner };
    } catch (error) {
      if (error instanceof ApiError) return { ok: false, error: error.toJSON() };
      logEvent("error", "flight failed", { key: job.key, error });
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
                logEvent("warn", "could not report progress", { job_id: jobId, error });
              }),
          ),
        );
      }
    } finally {
      this.#reporting = false;
    }
  }
}

function outcomeOf(
  result: FlightResult,
  count: number,
  withImages: boolean,
  job: string,
  joined: boolean,
): FlightOutcome {
  if (!result.ok) return result;
  return {
    ok: true,
    generated: true,
    job,
    joined,
    runner: result.runner,
    ...(withImages ? { images: result.images.slice(0, count) } : {}),
  };
}
