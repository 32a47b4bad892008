// A job as the pipeline sees it: identity, cancellation, deadline and progress accounting
// (network steps done / planned), reported as progress events of Contract 3 (docs/ARCHITECTURE.md),
// and the partial images of a streamed answer.
import type { PoolPartialImage, PoolProgressEvent } from "@unclip/shared";
import type { BatchedJob } from "../batching/batcher.ts";

export type ProgressStage = PoolProgressEvent["stage"];

let nextId = 0;

export class PipelineJob implements BatchedJob {
  readonly id = `job-${++nextId}`;
  readonly startedAt = performance.now();
  /** Aborted when the client went away or when the job failed (its other images stop too). */
  readonly signal: AbortSignal;
  private readonly failed = new AbortController();
  private planned = 0;
  private done = 0;

  constructor(
    readonly deadline: number,
    clientSignal?: AbortSignal,
    private readonly onProgress?: (event: PoolProgressEvent) => void,
    private readonly onPartial?: (partial: PoolPartialImage) => void,
  ) {
    this.signal = clientSignal
      ? AbortSignal.any([clientSignal, this.failed.signal])
      : this.failed.signal;
  }

  /** Stops the job's remaining work at the next step (one of its images failed). */
  abort(): void {
    this.failed.abort();
  }

  /** Adds network steps the job will take (progress denominator). */
  plan(steps: number): void {
    this.planned += steps;
  }

  /** One step of `stage` done: `step` of `total` within that stage for one sample. */
  advance(stage: ProgressStage, step: number, total: number): void {
    this.done += 1;
    this.report(stage, step, total);
  }

  /** Whether anyone listens for partial images (a streamed answer); else none are made. */
  get wantsPartials(): boolean {
    return this.onPartial !== undefined;
  }

  partial(partial: PoolPartialImage): void {
    this.onPartial?.(partial);
  }

  report(stage: ProgressStage, step: number, total: number): void {
    const progress = this.planned === 0 ? 0 : Math.min(1, this.done / this.planned);
    this.onProgress?.({ stage, step, total, progress });
  }
}
