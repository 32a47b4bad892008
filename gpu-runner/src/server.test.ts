import {
  type PoolResponse,
  poolPartialImageSchema,
  poolPathOf,
  poolProgressEventSchema,
  poolResponseSchemas,
  SIGNATURE_HEADER,
  signRequest,
  TIMESTAMP_HEADER,
} from "@unclip/shared";
import { describe, expect, it } from "vitest";
import { RunnerMetrics } from "./metrics.ts";
import { Runner } from "./runner.ts";
import { createApp, type JobLogEntry } from "./server.ts";
import { fakeBundle } from "./testing/fakeBundle.ts";
import { generateRequest } from "./testing/requests.ts";

const secret = "test-secret-123";
const GENERATE = poolPathOf("generation");

async function setup(
  options: { warm?: boolean; maxQueue?: number; delayMs?: number; secrets?: string[] } = {},
) {
  const bundle = fakeBundle({ delayMs: options.delayMs });
  const runner = new Runner(bundle, {
    maxBatch: 16,
    maxQueue: options.maxQueue ?? 64,
    jobTimeoutMs: 30_000,
    ddimEta: 0,
    metrics: new RunnerMetrics({ defaultMetrics: false }),
  });
  if (options.warm ?? true) await runner.warm();
  const logged: JobLogEntry[] = [];
  const app = createApp(runner, {
    secrets: options.secrets ?? [secret],
    logJob: (entry) => logged.push(entry),
  });
  const post = async (
    path: string,
    body: unknown,
    extra: Record<string, string> = {},
    signal?: AbortSignal,
  ) => {
    const text = JSON.stringify(body);
    const headers = await signRequest(secret, { method: "POST", path, body: text });
    return app.request(path, {
      method: "POST",
      body: text,
      headers: { "content-type": "application/json", ...headers, ...extra },
      signal,
    });
  };
  const errorCount = async (kind: string) => {
    const { values } = await runner.metrics.errors.get();
    return values.find((v) => v.labels.kind === kind)?.value ?? 0;
  };
  return { app, runner, bundle, post, logged, errorCount };
}

describe("signed job routes", () => {
  it("generates images answered per the protocol schema", async () => {
    const { post, bundle } = await setup();
    const res = await post(GENERATE, generateRequest(bundle.id, { n: 2 }));
    expect(res.status).toBe(200);
    const body = poolResponseSchemas[2].parse(await res.json());
    expect(body.bundle).toBe("fake@1");
    expect(body.images.map((i) => [i.index, i.width, i.height])).toEqual([
      [0, 256, 256],
      [1, 256, 256],
    ]);
  });

  it("refuses unsigned, badly signed, stale and replayed requests with 401 and runs nothing", async () => {
    const { app, bundle } = await setup();
    const body = JSON.stringify(generateRequest(bundle.id));
    const callsAfterWarmUp = bundle.fakes.textEncoder.calls.length;
    const unsigned = await app.request(GENERATE, { method: "POST", body });
    const badSig = await app.request(GENERATE, {
      method: "POST",
      body,
      headers: { [TIMESTAMP_HEADER]: String(Date.now()), [SIGNATURE_HEADER]: "0".repeat(64) },
    });
    const stale = await app.request(GENERATE, {
      method: "POST",
      body,
      headers: await signRequest(secret, { method: "POST", path: GENERATE, body }, 1),
    });
    const otherPath = await app.request(poolPathOf("interpolation"), {
      method: "POST",
      body,
      headers: await signRequest(secret, { method: "POST", path: GENERATE, body }),
    });
    for (const res of [unsigned, badSig, stale, otherPath]) {
      expect(res.status).toBe(401);
      expect((await res.json()).error.type).toBe("authentication_error");
    }
    expect(bundle.fakes.textEncoder.calls).toHaveLength(callsAfterWarmUp);

    const headers = await signRequest(secret, { method: "POST", path: GENERATE, body });
    const once = await app.request(GENERATE, { method: "POST", body, headers });
    const replay = await app.request(GENERATE, { method: "POST", body, headers });
    expect([once.status, replay.status]).toEqual([200, 401]);
  });

  it("answers 400 naming the invalid field, 409 for another bundle", async () => {
    const { post, bundle } = await setup();
    const bad = await post(GENERATE, { ...generateRequest(bundle.id), n: 0 });
    expect(bad.status).toBe(400);
    expect((await bad.json()).error).toMatchObject({ param: "n", type: "invalid_request_error" });
    const unknown = await post(GENERATE, { ...generateRequest(bundle.id), colour: "red" });
    expect((await unknown.json()).error.code).toBe("unknown_parameter");
    const other = await post(GENERATE, generateRequest("emoji@2"));
    expect(other.status).toBe(409);
  });

  it("refuses an oversized body with 413 before reading it as JSON", async () => {
    const { app } = await setup();
    const res = await app.request(poolPathOf("variation"), {
      method: "POST",
      body: "x".repeat(13 * 1024 * 1024),
      headers: { "content-length": String(13 * 1024 * 1024) },
    });
    expect(res.status).toBe(413);
  });

  it("answers 503 with retry-after when the queue is full", async () => {
    const { post, bundle, runner } = await setup({ maxQueue: 2, delayMs: 5 });
    const first = post(GENERATE, generateRequest(bundle.id, { n: 2 }));
    while (runner.depth === 0) await new Promise((r) => setTimeout(r, 1));
    const full = await post(GENERATE, generateRequest(bundle.id, { n: 1, seed: 3 }));
    expect(full.status).toBe(503);
    expect(Number(full.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect((await first).status).toBe(200);
  });

  it("drops the job when the client goes away", async () => {
    const { post, bundle, runner } = await setup({ delayMs: 10 });
    const abort = new AbortController();
    const pending = post(
      GENERATE,
      generateRequest(bundle.id, { decoder_steps: 50 }),
      {},
      abort.signal,
    ).catch(() => null);
    while (runner.depth === 0) await new Promise((r) => setTimeout(r, 1));
    abort.abort();
    await pending;
    while (runner.depth > 0) await new Promise((r) => setTimeout(r, 5));
    const metrics = await runner.metrics.registry.metrics();
    expect(metrics).toContain('unclip_errors_total{kind="cancelled"} 1');
    expect(bundle.fakes.decoder.calls.length).toBeLessThan(50);
  });

  it("streams progress events then the result with accept: text/event-stream", async () => {
    const { post, bundle } = await setup();
    const res = await post(GENERATE, generateRequest(bundle.id), {
      accept: "text/event-stream",
    });
    expect(res.headers.get("content-type")).toContain("text/event-stream");
    const events = await eventsOf(res);
    const progress = events.filter((e) => e.event === "progress");
    expect(progress.length).toBeGreaterThan(3);
    for (const p of progress) poolProgressEventSchema.parse(p.data);
    const last = events.at(-1)!;
    expect(last.event).toBe("result");
    expect((last.data as PoolResponse).images).toHaveLength(1);
    expect(events.filter((e) => e.event === "partial")).toEqual([]);
  });

  it("streams the requested partial images, each before the result", async () => {
    const { post, bundle } = await setup();
    const res = await post(
      GENERATE,
      generateRequest(bundle.id, { partial_images: 2, decoder_steps: 6 }),
      {
        accept: "text/event-stream",
      },
    );
    const events = await eventsOf(res);
    const partials = events.filter((e) => e.event === "partial");
    expect(partials.map((e) => poolPartialImageSchema.parse(e.data).partial_image_index)).toEqual([
      0, 1,
    ]);
    expect(events.findIndex((e) => e.event === "result")).toBeGreaterThan(
      events.findLastIndex((e) => e.event === "partial"),
    );
  });
});

/** The server-sent events of an answer, each with its JSON data. */
async function eventsOf(res: Response): Promise<{ event?: string; data: unknown }[]> {
  return (await res.text())
    .split("\n\n")
    .filter(Boolean)
    .map((block) => ({
      event: /^event: (.*)$/m.exec(block)?.[1],
      data: JSON.parse(/^data: (.*)$/m.exec(block)![1]),
    }));
}

describe("protocol versions and secret rotation", () => {
  it("serves every operation under the current and the previous version, each answered in its own", async () => {
    const { post, bundle } = await setup();
    const current = await post(GENERATE, generateRequest(bundle.id));
    expect(poolResponseSchemas[2].parse(await current.json()).protocol).toBe(2);
    const previous = await post(poolPathOf("generation", 1), generateRequest(bundle.id));
    // A v1 edge parses strictly: the answer must be exactly v1's shape.
    expect(poolResponseSchemas[1].safeParse(await previous.json()).success).toBe(true);
    const variation = await post(poolPathOf("variation", 1), { n: 1 });
    expect(variation.status).toBe(400); // routed and validated, not 404
    expect((await post("/v3/generation", generateRequest(bundle.id))).status).toBe(404);
  });

  it("accepts the previous secret only while it is configured", async () => {
    const signedWith = async (app: Awaited<ReturnType<typeof setup>>["app"], key: string) => {
      const body = JSON.stringify(generateRequest("fake@1"));
      const headers = await signRequest(key, { method: "POST", path: GENERATE, body });
      return (await app.request(GENERATE, { method: "POST", body, headers })).status;
    };
    const rotating = await setup({ secrets: ["the-new-secret", secret] });
    expect(await signedWith(rotating.app, secret)).toBe(200);
    expect(await signedWith(rotating.app, "the-new-secret")).toBe(200);
    expect(await signedWith(rotating.app, "a-third-secret")).toBe(401);
    const rotated = await setup({ secrets: ["the-new-secret"] });
    expect(await signedWith(rotated.app, secret)).toBe(401);
  });
});

describe("one check, one count, one log line per request", () => {
  it("counts each failed request once, JSON or streamed", async () => {
    const { post, bundle, errorCount } = await setup();
    await post(GENERATE, generateRequest(bundle.id, { size: "64x64" }));
    await post(GENERATE, generateRequest(bundle.id, { size: "64x64" }), {
      accept: "text/event-stream",
    });
    await post(GENERATE, { ...generateRequest(bundle.id), n: 0 });
    expect(await errorCount("bad_request")).toBe(3);
  });

  it("refuses a streamed request before its headers, with the status a JSON one gets", async () => {
    const { post } = await setup();
    const res = await post(GENERATE, generateRequest("emoji@2"), { accept: "text/event-stream" });
    expect(res.status).toBe(409);
    expect(res.headers.get("content-type")).toContain("application/json");
  });

  it("logs each job with its operation, protocol version and the edge's cache key", async () => {
    const { post, bundle, logged } = await setup();
    const cacheKey = "c".repeat(64);
    await post(poolPathOf("generation", 1), generateRequest(bundle.id, { cache_key: cacheKey }));
    await post(GENERATE, generateRequest("emoji@2"));
    expect(logged).toEqual([
      expect.objectContaining({
        msg: "job",
        operation: "generation",
        protocol: 1,
        cache_key: cacheKey,
        images: 1,
        status: 200,
        error: null,
      }),
    ]);
  });
});

describe("health, readiness, bundle and metrics", () => {
  it("is alive before it is ready, ready after warm-up, not ready while draining", async () => {
    const { app, runner } = await setup({ warm: false });
    expect((await app.request("/healthz")).status).toBe(200);
    expect((await app.request("/readyz")).status).toBe(503);
    await runner.warm();
    expect((await app.request("/readyz")).status).toBe(200);
    await runner.drain(1000);
    expect((await app.request("/readyz")).status).toBe(503);
  });

  it("describes the bundle without secrets", async () => {
    const { app } = await setup();
    expect(await (await app.request("/v1/bundle")).json()).toEqual({
      id: "fake@1",
      name: "fake",
      version: "1",
      sizes: ["8x8", "256x256", "512x512", "1024x1024"],
    });
  });

  it("exports the metric names the autoscaler and edge tests rely on", async () => {
    const { app, post, bundle } = await setup();
    await post(GENERATE, generateRequest(bundle.id, { n: 2 }));
    await app.request(GENERATE, { method: "POST", body: "{}" });
    const res = await app.request("/metrics");
    expect(res.headers.get("content-type")).toContain("text/plain");
    const text = await res.text();
    for (const line of [
      "# TYPE unclip_queue_depth gauge",
      "unclip_queue_depth 0",
      'unclip_batch_size_bucket{le="4",stage="decoder"}',
      'unclip_stage_latency_seconds_count{stage="prior"}',
      "unclip_image_latency_seconds_count 2",
      "unclip_images_generated_total 2",
      'unclip_jobs_total{operation="generation"} 1',
      'unclip_errors_total{kind="unauthorized"} 1',
    ]) {
      expect(text).toContain(line);
    }
  });
});
