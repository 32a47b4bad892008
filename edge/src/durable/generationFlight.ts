// GenerationFlight: one object per cache key, so identical misses that arrive together are
// rendered by one pool call and every waiter gets its outcome (single flight). The flight
// verifies and stores the pool's images and hands the stored bytes back to whoever asks, so
// an inline answer never reads back from R2 what was just written. A streamed request brings a
// subscriber: the flight it starts asks the pool for that stream's partial images, and every
// stream on the flight gets each partial as it arrives, thinned to its own count; a stream that
// goes away loses only its own events.

import { DurableObject } from "cloudflare:workers";
import {
  bytesFromBase64,
  newRequestId,
  type PoolPartialImage,
  type PoolProgressEvent,
} from "@unclip/shared";
import { ApiError, type SerializedApiError } from "../errors.ts";
import { logEvent } from "../observability/log.ts";
import { callPool } from "../pool/client.ts";
import { thinnedPartials } from "../render/events.ts";
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
  /** A streamed answer waiting on image 0: its partial images go to `onPartial`. */
  stream?: StreamSubscriber;
}

export interface StreamSubscriber {
  /** The request's `partial_images`. */
  partialImages: number;
  /** Called (over RPC, in order) with the stream's own partial index and the partial's PNG. */
  onPartial(partialIndex: number, png: Uint8Array): unknown;
}

/** A stream on a flight: its partials are delivered one after another, then its outcome. */
interface Subscription {
  subscriber: StreamSubscriber;
  delivered: Promise<void>;
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
  /** Partial images the pool was asked for (those of the stream that started the flight). */
  partialImages: number;
  subscriptions: Set<Subscription>;
  /** The last partial passed on: a retry on another runner sends them again from 0. */
  lastPartial: number;
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
    const subscription: Subscription | undefined = options.stream && {
      subscriber: options.stream,
      delivered: Promise.resolve(),
    };
    try {
      const requestId = options.requestId ?? watcherJobId ?? newRequestId();
      const outcome = await this.#join(job, options.withImages ?? false, requestId, subscription);
      // Every partial goes out before the outcome does.
      await subscription?.delivered;
      return outcome;
    } finally {
      if (watcherJobId) this.#watchers.delete(watcherJobId);
    }
  }

  async #join(
    job: RenderJob,
    withImages: boolean,
    requestId: string,
    subscription?: Subscription,
  ): Promise<FlightOutcome> {
    // Join a flight that renders at least the images this request needs.
    while (this.#flight) {
      const flight = this.#flight;
      flight.joined.push(requestId);
      logFlight({ msg: "flight joined", request_id: requestId, job: flight.leader, key: job.key });
      if (subscription && flight.count >= job.count) flight.subscriptions.add(subscription);
      try {
        const result = await flight.result;
        if (flight.count >= job.count) {
          return outcomeOf(result, job.count, withImages, flight.leader, true);
        }
      } finally {
        if (subscription) flight.subscriptions.delete(subscription);
      }
    }
    // The race this second check guards: a flight for this key finished (and stored its
    // images) between the image service's cache check in the Worker and this call.
    if (await isCached(job.key, job.count, this.env)) {
      return { ok: true, generated: false, job: null, joined: false, runner: null };
    }
    // Another request started a flight while this one awaited R2: join it instead.
    if (this.#flight) return this.#join(job, withImages, requestId, subscription);
    const flight: Flight = {
      count: job.count,
      leader: requestId,
      joined: [],
      result: Promise.resolve({ ok: true, images: [], runner: null }),
      partialImages: subscription?.subscriber.partialImages ?? 0,
      subscriptions: new Set(subscription ? [subscription] : []),
      lastPartial: -1,
    };
    flight.result = this.#fly(job, flight);
    this.#flight = flight;
    try {
      return outcomeOf(await flight.result, job.count, withImages, requestId, false);
    } finally {
      if (this.#flight === flight) this.#flight = undefined;
      if (subscription) flight.subscriptions.delete(subscription);
    }
  }

  /** The pool call of a flight, then one log line: which request ids rode on which job. */
  async #fly(job: RenderJob, flight: Flight): Promise<FlightResult> {
    const started = Date.now();
    const result = await this.#callAndStore(job, flight);
    logFlight({
      msg: "flight",
      job: flight.leader,
      key: job.key,
      joined: flight.joined,
      runner: result.ok ? result.runner : null,
      status: result.ok ? 200 : result.error.status,
      error: result.ok ? null : result.error.body.error.code,
      images: result.ok ? result.images.length : 0,
      latency_ms: Date.now() - started,
    });
    return result;
  }

  async #callAndStore(job: RenderJob, flight: Flight): Promise<FlightResult> {
    let runner: string | null = null;
    try {
      const onProgress =
        this.#watchers.size > 0 ? (e: PoolProgressEvent) => this.#tell(e) : undefined;
      const streaming = flight.partialImages > 0;
      const payload = { ...job.payload, request_id: flight.leader };
      const response = await callPool(
        job.operation,
        streaming ? { ...payload, partial_images: flight.partialImages } : payload,
        this.env,
        {
          onProgress,
          onPartial: streaming ? (p) => this.#share(flight, p) : undefined,
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

  /** Hands a partial of image 0 to every stream on the flight that wants it. */
  #share(flight: Flight, partial: PoolPartialImage): void {
    if (partial.index !== 0 || partial.partial_image_index <= flight.lastPartial) return;
    flight.lastPartial = partial.partial_image_index;
    const png = bytesFromBase64(partial.png_b64);
    for (const subscription of flight.subscriptions) {
      const { partialImages, onPartial } = subscription.subscriber;
      const own = thinnedPartials(partialImages, flight.partialImages).get(
        partial.partial_image_index,
      );
      if (own === undefined) continue;
      subscription.delivered = subscription.delivered
        .then(() => onPartial(own, png))
        .then(
          () => undefined,
          // The stream's client went away: it loses its own events, nothing else.
          () => void flight.subscriptions.delete(subscription),
        );
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
