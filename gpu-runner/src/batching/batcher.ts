// Continuous batching: one loop owns the networks. Each tick it picks the stage of the sample
// that has waited longest, fills ONE network call with the ready samples of that stage (any
// job, any step: every denoising graph takes a per-sample timestep) up to maxBatch rows, and
// advances each of them. New samples join at the next tick; samples of a cancelled or expired
// job are dropped at the next tick.
import type { Feed, StageSession } from "../bundle/session.ts";
import { RunnerError } from "../errors.ts";

/** What the batcher needs to know about the job a sample belongs to. */
export interface BatchedJob {
  readonly id: string;
  /** Aborted when the client went away. */
  readonly signal?: AbortSignal;
  /** Absolute deadline, ms since epoch. */
  readonly deadline: number;
}

export type FeedRow = Record<string, Float32Array | BigInt64Array>;

/** One unit of work that needs one or more network calls of one stage. */
export interface WorkItem {
  /** Which graph it needs; items with the same stage can share a call. */
  readonly stage: string;
  readonly job: BatchedJob;
  /** Its rows for the next call, one feed per row (a guided sample has 2: cond, uncond). */
  rows(): FeedRow[];
  /** Its rows' outputs; returns true when the item needs no further call. */
  consume(outputs: Record<string, Float32Array>[]): boolean;
}

export interface BatchReport {
  stage: string;
  rows: number;
  seconds: number;
  /** Which jobs had rows in the call, and how many. */
  jobs: { id: string; rows: number }[];
}

export interface BatcherObserver {
  onBatch?(report: BatchReport): void;
}

interface Pending {
  item: WorkItem;
  rows: number;
  resolve(): void;
  reject(error: RunnerError): void;
}

/** Why a job can no longer run, or null while it may. */
export function jobStopReason(job: BatchedJob, now = Date.now()): RunnerError | null {
  if (job.signal?.aborted) return new RunnerError("cancelled", "The client cancelled the request.");
  if (now > job.deadline)
    return new RunnerError("deadline", "The request's deadline passed before it finished.");
  return null;
}

export class Batcher {
  /** Ordered by the time each item became ready (oldest first). */
  private pending: Pending[] = [];
  private looping = false;
  private idleWaiters: (() => void)[] = [];
  /** Per-stage totals for the benchmark: calls, rows and seconds. */
  readonly stageTotals = new Map<string, { calls: number; rows: number; seconds: number }>();

  /**
   * `unbatched`: stages whose calls always hold exactly one item. onnxruntime's CPU GEMM takes
   * a different path for one row than for several (measured on the tiny bundle's text encoder:
   * 1-ulp differences), which would make an image depend on its batch-mates; the encoders run
   * once per job, so giving up their batching costs little.
   */
  constructor(
    private readonly sessions: ReadonlyMap<string, StageSession>,
    private readonly maxBatch: number,
    private readonly observer: BatcherObserver = {},
    private readonly unbatched: ReadonlySet<string> = new Set(),
  ) {}

  /** Resolves when the item finished all its calls; rejects if its job stopped or a call failed. */
  submit(item: WorkItem): Promise<void> {
    const stop = jobStopReason(item.job);
    if (stop) return Promise.reject(stop);
    if (!this.sessions.has(item.stage)) {
      return Promise.reject(new RunnerError("inference", `no graph for stage ${item.stage}`));
    }
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ item, rows: item.rows().length, resolve, reject });
      this.kick();
    });
  }

  /** Items waiting for a call. */
  get size(): number {
    return this.pending.length;
  }

  /** Resolves once nothing is pending or running. */
  idle(): Promise<void> {
    if (!this.looping && this.pending.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private kick(): void {
    if (this.looping) return;
    this.looping = true;
    void this.loop();
  }

  private async loop(): Promise<void> {
    try {
      while (this.pending.length > 0) {
        await this.tick();
        // Let requests that arrived during the call enqueue before the next one is built.
        await new Promise((r) => setImmediate(r));
      }
    } finally {
      this.looping = false;
      for (const wake of this.idleWaiters.splice(0)) wake();
    }
  }

  /** Drops items whose job stopped, then runs one network call. */
  private async tick(): Promise<void> {
    const now = Date.now();
    this.pending = this.pending.filter((p) => {
      const stop = jobStopReason(p.item.job, now);
      if (stop) p.reject(stop);
      return stop === null;
    });
    if (this.pending.length === 0) return;

    const stage = this.pending[0].item.stage;
    const batch: Pending[] = [];
    let rows = 0;
    for (const p of this.pending) {
      if (p.item.stage !== stage) continue;
      if (batch.length > 0 && rows + p.rows > this.maxBatch) continue;
      batch.push(p);
      rows += p.rows;
      if (rows >= this.maxBatch || this.unbatched.has(stage)) break;
    }
    const inBatch = new Set(batch);
    this.pending = this.pending.filter((p) => !inBatch.has(p));

    const session = this.sessions.get(stage)!;
    let outputs: Record<string, Float32Array>;
    const started = performance.now();
    try {
      const feeds = stackRows(
        session,
        batch.flatMap((p) => p.item.rows()),
      );
      outputs = await session.run(feeds);
    } catch (error) {
      const failure =
        error instanceof RunnerError
          ? error
          : new RunnerError(
              "inference",
              `The ${stage} network failed: ${(error as Error).message}`,
            );
      for (const p of batch) p.reject(failure);
      return;
    }
    const seconds = (performance.now() - started) / 1000;
    const totals = this.stageTotals.get(stage) ?? { calls: 0, rows: 0, seconds: 0 };
    this.stageTotals.set(stage, {
      calls: totals.calls + 1,
      rows: totals.rows + rows,
      seconds: totals.seconds + seconds,
    });
    this.observer.onBatch?.({
      stage,
      rows,
      seconds,
      jobs: batch.map((p) => ({ id: p.item.job.id, rows: p.rows })),
    });

    let offset = 0;
    for (const p of batch) {
      const mine = sliceRows(session, outputs, rows, offset, p.rows);
      offset += p.rows;
      try {
        if (p.item.consume(mine)) p.resolve();
        else this.pending.push({ ...p, rows: p.item.rows().length });
      } catch (error) {
        p.reject(
          error instanceof RunnerError
            ? error
            : new RunnerError("inference", `${stage}: ${(error as Error).message}`),
        );
      }
    }
  }
}

/** Concatenates rows along the batch dimension, checking each row against the manifest shape. */
export function stackRows(session: StageSession, rows: FeedRow[]): Record<string, Feed> {
  const feeds: Record<string, Feed> = {};
  for (const spec of session.inputs) {
    const inner = spec.shape.slice(1) as number[];
    const size = inner.reduce((a, b) => a * b, 1);
    const data =
      spec.dtype === "int64"
        ? new BigInt64Array(rows.length * size)
        : new Float32Array(rows.length * size);
    rows.forEach((row, r) => {
      const value = row[spec.name];
      if (value === undefined || value.length !== size) {
        throw new RunnerError(
          "inference",
          `input "${spec.name}": expected ${size} values per sample, found ${value?.length ?? "none"}`,
        );
      }
      (data as Float32Array).set(value as Float32Array, r * size);
    });
    feeds[spec.name] = { data, dims: [rows.length, ...inner] };
  }
  return feeds;
}

function sliceRows(
  session: StageSession,
  outputs: Record<string, Float32Array>,
  total: number,
  offset: number,
  count: number,
): Record<string, Float32Array>[] {
  const out: Record<string, Float32Array>[] = [];
  for (let r = offset; r < offset + count; r++) {
    const row: Record<string, Float32Array> = {};
    for (const spec of session.outputs) {
      const all = outputs[spec.name];
      const size = all.length / total;
      row[spec.name] = all.slice(r * size, (r + 1) * size);
    }
    out.push(row);
  }
  return out;
}
