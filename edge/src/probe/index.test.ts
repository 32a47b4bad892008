// The synthetic probe: past the cache to a runner, the image's hash checked, one data point.
import {
  createExecutionContext,
  createScheduledController,
  waitOnExecutionContext,
} from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FakePool, unreachable } from "../../test/pool.ts";
import worker from "../index.ts";
import type { RequestDataPoint } from "../observability/requestRecord.ts";
import { probeRequest, runProbe } from "./index.ts";

function recordingEnv(vars: Record<string, string> = {}) {
  const points: RequestDataPoint[] = [];
  const probeEnv = {
    ...env,
    ...vars,
    REQUEST_METRICS: { writeDataPoint: (p: RequestDataPoint) => points.push(p) },
  } as unknown as Env;
  return { probeEnv, points };
}

describe("the synthetic probe", () => {
  let pool: FakePool;
  beforeEach(() => {
    pool = new FakePool().install();
  });
  afterEach(() => pool.restore());

  it("reaches a runner every run, even for an image already made, and records its hash", async () => {
    const { probeEnv, points } = recordingEnv();
    const first = await runProbe(probeEnv);
    const second = await runProbe(probeEnv);
    expect(pool.calls).toHaveLength(2);
    expect(pool.calls[0].body).toMatchObject({ prompt: probeRequest().prompt, seed: 2026, n: 1 });
    expect(pool.calls[0].body.request_id).toBe(first.record.requestId);
    expect(first.imageSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(second.imageSha256).toBe(first.imageSha256);
    expect(points).toHaveLength(2);
    expect(points[0].blobs.slice(0, 2)).toEqual(["probe", "none"]);
    expect(points[0].blobs[7]).toBe("");
    expect(points[0].doubles[0]).toBe(200);
  });

  it("fails on an image whose hash differs from the expected one", async () => {
    const { probeEnv, points } = recordingEnv();
    const { record } = await runProbe(probeEnv, "0".repeat(64));
    expect(record.error).toBe("hash_mismatch");
    expect(points[0].blobs[7]).toBe("hash_mismatch");
  });

  it("records an unreachable pool as a failed run", async () => {
    pool.handler = unreachable;
    const { probeEnv, points } = recordingEnv({ POOL_TIMEOUT_MS: "300" });
    const { record } = await runProbe(probeEnv);
    expect(record).toMatchObject({ status: 503, pool: "unreachable", error: "pool_unavailable" });
    expect(points[0].doubles[0]).toBe(503);
  });

  it("runs from the Worker's cron trigger with PROBE_EXPECTED_SHA256", async () => {
    const { probeEnv } = recordingEnv();
    const expected = (await runProbe(probeEnv)).imageSha256 as string;
    const { probeEnv: cronEnv, points } = recordingEnv({ PROBE_EXPECTED_SHA256: expected });
    const ctx = createExecutionContext();
    worker.scheduled(createScheduledController({ cron: "*/5 * * * *" }), cronEnv, ctx);
    await waitOnExecutionContext(ctx);
    expect(points).toHaveLength(1);
    expect(points[0].blobs[7]).toBe("");
    expect(points[0].doubles[0]).toBe(200);
  });
});
