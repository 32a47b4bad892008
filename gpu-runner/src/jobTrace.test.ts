// The runner's job log line: one JSON line per job, with its request id and its time per stage.
import { describe, expect, it } from "vitest";
import { RunnerMetrics } from "./metrics.ts";
import { Runner } from "./runner.ts";
import { fakeBundle } from "./testing/fakeBundle.ts";
import { generateRequest } from "./testing/requests.ts";

function loggingRunner() {
  const bundle = fakeBundle({});
  const lines: string[] = [];
  const runner = new Runner(bundle, {
    maxBatch: 16,
    maxQueue: 64,
    jobTimeoutMs: 30_000,
    ddimEta: 0,
    metrics: new RunnerMetrics({ defaultMetrics: false }),
    jobLog: (line) => lines.push(line),
  });
  return { runner, bundle, lines };
}

describe("job log lines", () => {
  it("writes one JSON line per job with its request id, outcome and stage timings", async () => {
    const { runner, bundle, lines } = loggingRunner();
    const request = generateRequest(bundle.id, {
      n: 2,
      prior_steps: 3,
      decoder_steps: 4,
      request_id: "req_trace_me",
      cache_key: "a".repeat(64),
    });
    await runner.submit({ kind: "generate", request });
    expect(lines).toHaveLength(1);
    const line = JSON.parse(lines[0]);
    expect(line).toMatchObject({
      level: "info",
      msg: "job",
      request_id: "req_trace_me",
      kind: "generate",
      bundle: bundle.id,
      cache_key: "a".repeat(64),
      images: 2,
      status: 200,
      error: null,
    });
    expect(Date.parse(line.time)).not.toBeNaN();
    expect(line.latency_ms).toBeGreaterThanOrEqual(0);
    // Two guided images: 4 rows in each of the decoder's 4 calls.
    expect(line.stages.decoder).toMatchObject({ calls: 4, rows: 16, max_batch: 4 });
    expect(line.stages.prior.calls).toBe(3);
    expect(Object.keys(line.stages)).toEqual(
      expect.arrayContaining(["text_encoder", "prior", "decoder", "upsampler_0"]),
    );
    expect(runner.tracer.size).toBe(0);
  });

  it("logs a failed job with its error kind and forgets its trace", async () => {
    const { runner, bundle, lines } = loggingRunner();
    const cancelled = new AbortController();
    cancelled.abort();
    const request = generateRequest(bundle.id, { request_id: "req_gone" });
    await expect(
      runner.submit({ kind: "generate", request }, { signal: cancelled.signal }),
    ).rejects.toMatchObject({ kind: "cancelled" });
    expect(JSON.parse(lines[0])).toMatchObject({
      level: "warn",
      request_id: "req_gone",
      error: "cancelled",
      status: 400,
    });
    expect(runner.tracer.size).toBe(0);
  });

  it("writes null for the request id of a job that came without one", async () => {
    const { runner, bundle, lines } = loggingRunner();
    await runner.submit({ kind: "generate", request: generateRequest(bundle.id) });
    expect(JSON.parse(lines[0]).request_id).toBeNull();
  });
});
