// JobStore: one object per async job (generations' `async: true`). `start` records the job
// and schedules its alarm; the alarm renders through the image service (so async jobs share
// single flights with synchronous requests); progress from the pool is kept and pushed to
// every open event stream of the job.

import { DurableObject } from "cloudflare:workers";
import type { JobStatus, PoolProgressEvent } from "@unclip/shared";
import { ApiError } from "../errors.ts";
import { formatServerSentEvent } from "../http/sse.ts";
import { type AnswerShape, imagesData } from "../render/answer.ts";
import type { RenderJob } from "../render/job.ts";
import { renderImages } from "../render/service.ts";
import type { BucketPolicy } from "./rateLimiter.ts";

/** What the edge stores for an async job: the render job and how to answer its owner. */
export interface AsyncJobSpec extends AnswerShape {
  id: string;
  ownerHash: string;
  job: RenderJob;
  /** What submitting charged the owner's bucket: returned if the server fails the job. */
  charge: { units: number; policy: BucketPolicy };
}

/** Starts an async job (202); its progress is at /v1/jobs/:id and /v1/jobs/:id/events. */
export async function submitAsyncJob(spec: Omit<AsyncJobSpec, "id">, env: Env): Promise<JobStatus> {
  const id = `job_${crypto.randomUUID().replaceAll("-", "")}`;
  return env.JOBS.get(env.JOBS.idFromName(id)).start({ ...spec, id });
}

interface AsyncJobRecord {
  spec: AsyncJobSpec;
  status: JobStatus["status"];
  progress: number;
  created: number;
  error?: JobStatus["error"];
}

const encoder = new TextEncoder();
/** How long a finished job's status stays readable (its images stay in R2 regardless). */
export const JOB_RETENTION_MS = 24 * 60 * 60 * 1000;
/** Longer than any pool call (POOL_TIMEOUT_MS) plus storing its images. */
const JOB_WATCHDOG_MS = 15 * 60 * 1000;

export class JobStore extends DurableObject<Env> {
  #streams = new Set<WritableStreamDefaultWriter<Uint8Array>>();

  #record(): AsyncJobRecord | undefined {
    return this.ctx.storage.kv.get<AsyncJobRecord>("job");
  }

  async start(spec: AsyncJobSpec): Promise<JobStatus> {
    const record: AsyncJobRecord = {
      spec,
      status: "queued",
      progress: 0,
      created: Math.floor(Date.now() / 1000),
    };
    this.ctx.storage.kv.put("job", record);
    await this.ctx.storage.setAlarm(Date.now());
    return this.#statusOf(record);
  }

  /** The job as its owner sees it; undefined for anyone else (they get a 404). */
  async status(ownerHash: string): Promise<JobStatus | undefined> {
    const record = this.#record();
    if (!record || record.spec.ownerHash !== ownerHash) return undefined;
    return this.#statusOf(record);
  }

  progress(event: PoolProgressEvent): void {
    const record = this.#record();
    if (record?.status !== "running" || event.progress <= record.progress) return;
    record.progress = event.progress;
    this.ctx.storage.kv.put("job", record);
    this.#broadcast("progress", {
      ...this.#brief(record),
      stage: event.stage,
      step: event.step,
      total: event.total,
    });
  }

  override async alarm(): Promise<void> {
    const record = this.#record();
    if (record?.status === "succeeded" || record?.status === "failed") {
      await this.ctx.storage.deleteAll(); // retention is over
      return;
    }
    // Alarms never overlap, so a job found "running" here lost its instance mid-run: run it again.
    if (record?.status !== "queued" && record?.status !== "running") return;
    record.status = "running";
    this.ctx.storage.kv.put("job", record);
    // The watchdog that re-runs the job if this instance dies (replaced by retention below).
    await this.ctx.storage.setAlarm(Date.now() + JOB_WATCHDOG_MS);
    this.#broadcast("progress", this.#brief(record));
    try {
      await renderImages(record.spec.job, this.env, { watcherJobId: record.spec.id });
      record.status = "succeeded";
      record.progress = 1;
    } catch (error) {
      record.status = "failed";
      const known =
        error instanceof ApiError
          ? error
          : new ApiError(500, "Rendering failed unexpectedly.", null, "internal_error");
      if (!(error instanceof ApiError)) console.error(`edge: job ${record.spec.id} failed`, error);
      record.error = known.body.error;
      if (known.status >= 500) await this.#refund(record.spec);
    }
    this.ctx.storage.kv.put("job", record);
    await this.ctx.storage.setAlarm(Date.now() + JOB_RETENTION_MS);
    const final = await this.#statusOf(record);
    this.#broadcast(record.status === "succeeded" ? "result" : "error", final);
    for (const writer of this.#streams) writer.close().catch(() => {});
    this.#streams.clear();
  }

  /** GET /v1/jobs/:id/events, forwarded here: an SSE stream until the job ends. */
  override async fetch(request: Request): Promise<Response> {
    const record = this.#record();
    if (!record || record.spec.ownerHash !== request.headers.get("x-unclip-owner")) {
      return new ApiError(404, "No such job.", "id", "job_not_found").toResponse();
    }
    const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
    const writer = writable.getWriter();
    const done = record.status === "succeeded" || record.status === "failed";
    const first = done
      ? formatServerSentEvent(
          record.status === "succeeded" ? "result" : "error",
          await this.#statusOf(record),
        )
      : formatServerSentEvent("progress", this.#brief(record));
    writer.write(encoder.encode(first)).catch(() => {});
    if (done) writer.close().catch(() => {});
    else this.#streams.add(writer);
    return new Response(readable, {
      headers: {
        "content-type": "text/event-stream; charset=utf-8",
        "cache-control": "no-cache",
      },
    });
  }

  async #refund({ ownerHash, charge }: AsyncJobSpec): Promise<void> {
    const bucket = this.env.RATE_LIMITER.get(this.env.RATE_LIMITER.idFromName(ownerHash));
    await bucket.refund(charge.units, charge.policy).catch((error: unknown) => {
      console.error("edge: could not refund a failed job's units", error);
    });
  }

  #brief(record: AsyncJobRecord) {
    return {
      id: record.spec.id,
      object: "image.job",
      status: record.status,
      progress: record.progress,
    };
  }

  #broadcast(event: string, data: unknown): void {
    const bytes = encoder.encode(formatServerSentEvent(event, data));
    for (const writer of this.#streams) {
      writer.write(bytes).catch(() => this.#streams.delete(writer));
    }
  }

  async #statusOf(record: AsyncJobRecord): Promise<JobStatus> {
    const status: JobStatus = {
      id: record.spec.id,
      object: "image.job",
      status: record.status,
      progress: record.progress,
      created: record.created,
    };
    if (record.status === "succeeded") {
      // Read back from R2 on every status read: the status may be asked for long after the run.
      status.result = {
        created: record.created,
        data: await imagesData(record.spec.job, record.spec, this.env),
      };
    }
    if (record.error) status.error = record.error;
    return status;
  }
}
