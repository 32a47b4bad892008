// The runner: one loaded bundle, one batcher, the pipeline, admission control (bounded
// queue, bundle identity, size, deadlines, draining) and job metrics. The HTTP server, the CLI
// and the benchmark all drive this same object. A request is checked once, at admission;
// what runs after it trusts the checks.
import {
  imageCountOf,
  type PoolPartialImage,
  type PoolProgressEvent,
  type PoolRendered,
  type PoolRequest,
  poolRequestSchemas,
  sizesFor,
} from "@unclip/shared";
import { Batcher, type BatcherObserver } from "./batching/batcher.ts";
import type { LoadedBundle } from "./bundle/load.ts";
import { type StageSession, zeroFeeds } from "./bundle/session.ts";
import { RunnerError } from "./errors.ts";
import { JobTracer, type StageTiming } from "./jobTrace.ts";
import { RunnerMetrics } from "./metrics.ts";
import { PipelineJob } from "./pipeline/pipelineJob.ts";
import { STAGE, UnclipPipeline } from "./pipeline/unclip.ts";

export interface RunnerOptions {
  maxBatch: number;
  maxQueue: number;
  jobTimeoutMs: number;
  ddimEta: number;
  metrics?: RunnerMetrics;
  /** Extra observer of every network call (tests). */
  observer?: BatcherObserver;
}

/** A request that passed admission: its images are counted in the queue until it ran. */
export interface AdmittedRequest {
  readonly job: PoolRequest;
  readonly images: number;
  /** Absolute, ms since epoch: the request's own or the runner's job timeout, the sooner. */
  readonly deadline: number;
}

export interface SubmitOptions {
  signal?: AbortSignal;
  onProgress?(event: PoolProgressEvent): void;
  /** Told, however the job ended, what it spent per stage (the server's job log line). */
  onStages?(stages: Record<string, StageTiming>): void;
  /** Streaming: each partial image the request's `partial_images` asks for. */
  onPartial?(partial: PoolPartialImage): void;
}

export type RunnerBundle = Pick<LoadedBundle, "id" | "manifest" | "tokenizer" | "sessions"> & {
  release?(): Promise<void>;
};

export class Runner {
  readonly metrics: RunnerMetrics;
  readonly batcher: Batcher;
  readonly pipeline: UnclipPipeline;
  /** Per-job stage timings for the job log lines. */
  readonly tracer = new JobTracer();
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
    const tracer = this.tracer;
    this.batcher = new Batcher(
      byStage,
      options.maxBatch,
      {
        onBatch(report) {
          metrics.onBatch(report);
          tracer.onBatch(report);
          extra?.onBatch?.(report);
        },
      },
      new Set([STAGE.textEncoder, STAGE.imageEncoder]),
    );
    this.pipeline = new UnclipPipeline(bundle.manifest, bundle.tokenizer, this.batcher, {
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
    this.metrics.ready.set(this.ready ? 1 : 0);
  }

  /**
   * Checks, admits and runs a request built in this process (the CLI, the benchmarks, the
   * evaluation). Their requests come from command-line flags, not through the server's schema
   * check (server.ts), so it is made here: a `--steps abc` became NaN steps, and the job spun
   * without a step until its timeout (an hour in the CLI); now it is refused with the field
   * and the reason, as over HTTP.
   */
  async submit(job: PoolRequest, options: SubmitOptions = {}): Promise<PoolRendered> {
    const parsed = poolRequestSchemas[job.operation].safeParse(job.request);
    if (!parsed.success) throw RunnerError.fromZod(parsed.error);
    return this.run(
      this.admit({ operation: job.operation, request: parsed.data } as PoolRequest),
      options,
    );
  }

  /**
   * Checks a request against this runner (draining, bundle, size, queue room, deadline) and
   * reserves its place in the queue, or throws the error it is refused with. A streaming
   * answer admits before it sends its headers, so a refusal keeps its HTTP status.
   */
  admit(job: PoolRequest): AdmittedRequest {
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
    const sizes = sizesFor(this.pipeline.nativeResolution);
    if (!sizes.includes(request.size)) {
      throw new RunnerError(
        "bad_request",
        `Invalid 'size': this bundle serves ${sizes.join(", ")} (found ${request.size})`,
        "size",
      );
    }
    const images = imageCountOf(job);
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
    this.held += images;
    this.metrics.queueDepth.set(this.held);
    this.metrics.jobs.inc({ operation: job.operation });
    return { job, images, deadline };
  }

  /** Runs an admitted request; its place in the queue is freed however it ends. */
  async run(admitted: AdmittedRequest, options: SubmitOptions = {}): Promise<PoolRendered> {
    const started = performance.now();
    const run = new PipelineJob(
      admitted.deadline,
      options.signal,
      options.onProgress,
      options.onPartial,
    );
    this.tracer.start(run.id);
    try {
      const out = await this.pipeline.render(admitted.job, run);
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
      const stages = this.tracer.finish(run.id);
      options.onStages?.(stages);
      this.held -= admitted.images;
      this.metrics.queueDepth.set(this.held);
      if (this.held === 0) for (const wake of this.heldWaiters.splice(0)) wake();
    }
  }

  /** Stops taking jobs; resolves when held work finished or after `timeoutMs`. */
  async drain(timeoutMs: number): Promise<boolean> {
    this.draining = true;
    this.metrics.ready.set(0);
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
