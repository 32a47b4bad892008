// Prometheus metrics (prom-client) on a registry of this runner. The names are a contract:
// KEDA scales the pool on unclip_queue_depth (infra/ imports the names from here) and the edge
// e2e tests read the others. Jobs are counted where they are admitted (runner.ts), failed
// requests where they are answered (server.ts): each in one place.
import { OPERATIONS } from "@unclip/shared";
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import type { BatcherObserver, BatchReport } from "./batching/batcher.ts";

export class RunnerMetrics implements BatcherObserver {
  readonly registry = new Registry();
  /** Images held: waiting in the queue or being generated. */
  readonly queueDepth = new Gauge({
    name: "unclip_queue_depth",
    help: "Images waiting or being generated (KEDA scales the pool on this)",
    registers: [this.registry],
  });
  readonly batchSize = new Histogram({
    name: "unclip_batch_size",
    help: "Rows per network call (a guided sample counts twice)",
    labelNames: ["stage"],
    buckets: [1, 2, 4, 8, 16, 32, 64, 128],
    registers: [this.registry],
  });
  readonly stageLatency = new Histogram({
    name: "unclip_stage_latency_seconds",
    help: "Duration of one network call, by stage",
    labelNames: ["stage"],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });
  readonly imageLatency = new Histogram({
    name: "unclip_image_latency_seconds",
    help: "Time from a job's arrival to one of its images being ready",
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
    registers: [this.registry],
  });
  readonly imagesGenerated = new Counter({
    name: "unclip_images_generated_total",
    help: "Images generated",
    registers: [this.registry],
  });
  readonly jobs = new Counter({
    name: "unclip_jobs_total",
    help: `Jobs accepted, by operation (${OPERATIONS.join(", ")})`,
    labelNames: ["operation"],
    registers: [this.registry],
  });
  readonly errors = new Counter({
    name: "unclip_errors_total",
    help: "Failed requests, by kind (unauthorized, bad_request, queue_full, deadline, …)",
    labelNames: ["kind"],
    registers: [this.registry],
  });

  constructor(options: { defaultMetrics?: boolean } = {}) {
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry });
  }

  onBatch(report: BatchReport): void {
    this.batchSize.observe({ stage: report.stage }, report.rows);
    this.stageLatency.observe({ stage: report.stage }, report.seconds);
  }
}
