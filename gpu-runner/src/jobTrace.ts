// What one job spent in each stage: the network calls it had rows in, their rows and their wall
// time, gathered from the batcher's reports. A call shared by several jobs counts in full
// for each of them: it is the time each one waited on that call.
import type { BatcherObserver, BatchReport } from "./batching/batcher.ts";

export interface StageTiming {
  /** Network calls the job had rows in. */
  calls: number;
  /** The job's own rows over those calls. */
  rows: number;
  /** The largest call (all jobs' rows) it shared: how well it was batched. */
  max_batch: number;
  /** Wall time of those calls, ms. */
  ms: number;
}

export class JobTracer implements BatcherObserver {
  /** Only jobs in flight: an entry is removed when its job ends, however it ends. */
  private readonly open = new Map<string, Record<string, StageTiming>>();

  start(jobId: string): void {
    this.open.set(jobId, {});
  }

  /** The job's stage timings, and forgets it. */
  finish(jobId: string): Record<string, StageTiming> {
    const stages = this.open.get(jobId) ?? {};
    this.open.delete(jobId);
    for (const timing of Object.values(stages)) timing.ms = Math.round(timing.ms * 10) / 10;
    return stages;
  }

  /** Jobs being traced (a test checks this returns to 0). */
  get size(): number {
    return this.open.size;
  }

  onBatch(report: BatchReport): void {
    // A job's images are separate items of one call: count the call once per job.
    const rowsByJob = new Map<string, number>();
    for (const { id, rows } of report.jobs) rowsByJob.set(id, (rowsByJob.get(id) ?? 0) + rows);
    for (const [id, rows] of rowsByJob) {
      const stages = this.open.get(id);
      if (!stages) continue;
      const timing = stages[report.stage] ?? { calls: 0, rows: 0, max_batch: 0, ms: 0 };
      stages[report.stage] = timing;
      timing.calls += 1;
      timing.rows += rows;
      timing.max_batch = Math.max(timing.max_batch, report.rows);
      timing.ms += report.seconds * 1000;
    }
  }
}
