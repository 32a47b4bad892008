// The runner: one loaded bundle, one batch scheduler, the pipeline, admission control (bounded
// queue, bundle identity, deadlines, draining) and metrics. The HTTP server, the CLI and the
// benchmark all drive this same object.
import type {
  PoolEditRequest,
  PoolGenerateRequest,
  PoolInterpolateRequest,
  PoolPartialImage,
  PoolProgressEvent,
  PoolResponse,
  PoolVariationRequest,
} from "@unclip/shared";
import { BatchScheduler, type SchedulerObserver } from "./batching/scheduler.ts";
import type { LoadedBundle } from "./bundle/load.ts";
import { type StageSession, zeroFeeds } from "./bundle/session.ts";
import { RunnerError } from "./errors.ts";
import { RunnerMetrics } from "./metrics.ts";
import { Job } from "./pipeline/job.ts";
import { STAGE, UnclipPipeline } from "./pipeline/unclip.ts";

export type JobKind = "generate" | "variations" | "interpolate" | "edits";
export type JobRequest =
  | { kind: "generate"; request: PoolGenerateRequest }
  | { kind: "variations"; request: PoolVariationRequest }
  | { kind: "interpolate"; request: PoolInterpolateRequest }
  | { kind: "edits"; request: PoolEditRequest };

export interface RunnerOptions {
  maxBatch: number;
  maxQueue: number;
  jobTimeoutMs: number;
  ddimEta: number;
  metrics?: RunnerMetrics;
  /** Extra observer of every network call (tests). */
  observer?: SchedulerObserver;
}

export interface SubmitOptions {
  signal?: AbortSignal;
  onProgress?(event: PoolProgressEvent): void;
  /** Streaming: each partial image the request's `partial_images` asks for. */
  onPartial?(partial: PoolPartialImage): void;
}

export type RunnerBundle = Pick<LoadedBundle, "id" | "manifest" | "tokenizer" | "sessions"> & {
  release?(): Promise<void>;
};

export class Runner {
  readonly metrics: RunnerMetrics;
  readonly scheduler: BatchScheduler;
  readonly pipeline: UnclipPipeline;
  private held = 0;
  private draining = false;
  private warmed = false;
  private heldWaiters: (() => void)[] = [];

  constructor(
    readonly bundle: RunnerBundle,
    private readonly options: RunnerOptions,
  ) {
    this.metrics = options.metrics ?? new RunnerMetrics();
    const { sessions } = bundle;
    const byStage = new Map<string, StageSession>([
      [STAGE.textEncoder, sessions.textEncoder],
      [STAGE.imageEncoder, sessions.imageEncoder],
      [STAGE.prior, sessions.prior],
      [STAGE.decoder, sessions.decoder],
      ...sessions.upsamplers.map((s, k) => [STAGE.upsampler(k), s] as [string, StageSession]),
    ]);
    const metrics = this.metrics;
    const extra = options.observer;
    this.scheduler = new BatchScheduler(
      byStage,
      options.maxBatch,
      {
        onBatch(report) {
          metrics.onBatch(report);
          extra?.onBatch?.(report);
        },
      },
      new Set([STAGE.textEncoder, STAGE.imageEncoder]),
    );
    this.pipeline = new UnclipPipeline(bundle.manifest, bundle.tokenizer, this.scheduler, {
      eta: options.ddimEta,
    });
  }

  get ready(): boolean {
    return this.warmed && !this.draining;
  }

  get isDraining(): boolean {
    return this.draining;
  }

  /** Images held right now (queued or running). */
  get depth(): number {
    return this.held;
  }

  /** Runs every graph once on zeros (batch of 2, as a guided call) so the first job is not slow. */
  async warm(): Promise<void> {
    const { sessions } = this.bundle;
    for (const session of [
      sessions.textEncoder,
      sessions.imageEncoder,
      sessions.prior,
      sessions.decoder,
      ...sessions.upsamplers,
    ]) {
      await session.run(zeroFeeds(session.inputs, 2));
    }
    this.warmed = true;
  }

  async submit(job: JobRequest, options: SubmitOptions = {}): Promise<PoolResponse> {
    try {
      return await this.admitAndRun(job, options);
    } catch (error) {
      if (error instanceof RunnerError) this.metrics.errors.inc({ kind: error.kind });
      else this.metrics.errors.inc({ kind: "inference" });
      throw error;
    }
  }

  /**
   * Throws the error a job would be refused with right now (draining, wrong bundle, bad size,
   * queue full, deadline passed), so a streaming answer can still use the right HTTP status.
   */
  check(job: JobRequest): { images: number; deadline: number } {
    const { request } = job;
    if (this.draining) {
      throw new RunnerError("draining", "This runner is shutting down; retry elsewhere.", null, 1);
    }
    if (request.bundle !== this.bundle.id) {
      throw new RunnerError(
        "bundle_mismatch",
        `This runner serves bundle ${this.bundle.id}, the request names ${request.bundle}.`,
        "bundle",
      );
    }
    this.pipeline.checkSize(request.size);
    const images = job.kind === "interpolate" ? job.request.frames : job.request.n;
    if (this.held + images > this.options.maxQueue) {
      throw new RunnerError(
        "queue_full",
        `The runner's queue is full (${this.held} of ${this.options.maxQueue} images held).`,
        null,
        Math.max(1, Math.ceil(this.held / this.options.maxBatch)),
      );
    }
    const now = Date.now();
    const deadline = Math.min(
      request.deadline ?? Number.POSITIVE_INFINITY,
      now + this.options.jobTimeoutMs,
    );
    if (deadline <= now) {
      throw new RunnerError("deadline", "The request's deadline has already passed.", "deadline");
    }
    return { images, deadline };
  }

  private async admitAndRun(job: JobRequest, options: SubmitOptions): Promise<PoolResponse> {
    const { images, deadline } = this.check(job);
    this.held += images;
    this.metrics.queueDepth.set(this.held);
    this.metrics.jobs.inc({ kind: job.kind });
    const started = performance.now();
    const run = new Job(deadline, options.signal, options.onProgress, options.onPartial);
    try {
      const out =
        job.kind === "generate"
          ? await this.pipeline.generate(job.request, run)
          : job.kind === "variations"
            ? await this.pipeline.variations(job.request, run)
            : job.kind === "edits"
              ? await this.pipeline.edit(job.request, run)
              : await this.pipeline.interpolate(job.request, run);
      const seconds = (performance.now() - started) / 1000;
      for (let i = 0; i < out.length; i++) this.metrics.imageLatency.observe(seconds);
      this.metrics.imagesGenerated.inc(out.length);
      return {
        bundle: this.bundle.id,
        images: out,
        timings_ms: { total: Math.round(seconds * 1000) },
      };
    } catch (error) {
      run.abort(); // the job's other images need not run on
      throw error;
    } finally {
      this.held -= images;
      this.metrics.queueDepth.set(this.held);
      if (this.held === 0) for (const wake of this.heldWaiters.splice(0)) wake();
    }
  }

  /** Stops taking jobs; resolves when held work finished or after `timeoutMs`. */
  async drain(timeoutMs: number): Promise<boolean> {
    this.draining = true;
    if (this.held === 0) return true;
    let timer: NodeJS.Timeout | undefined;
    const finished = await Promise.race([
      new Promise<boolean>((resolve) => this.heldWaiters.push(() => resolve(true))),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), timeoutMs);
      }),
    ]);
    clearTimeout(timer);
    return finished;
  }

  async release(): Promise<void> {
    await this.bundle.release?.();
  }
}
