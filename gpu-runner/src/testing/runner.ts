// A runner for tests over a loaded bundle: one job at a time is enough, no process metrics.
import { RunnerMetrics } from "../metrics.ts";
import { Runner, type RunnerBundle, type RunnerOptions } from "../runner.ts";

export function testRunner(bundle: RunnerBundle, options: Partial<RunnerOptions> = {}): Runner {
  return new Runner(bundle, {
    maxBatch: 16,
    maxQueue: 64,
    jobTimeoutMs: 60_000,
    ddimEta: 0,
    metrics: new RunnerMetrics({ defaultMetrics: false }),
    ...options,
  });
}
