import { describe, expect, it } from "vitest";
import type { BatchReport } from "./batching/batcher.ts";
import type { RunnerError } from "./errors.ts";
import { RunnerMetrics } from "./metrics.ts";
import { Runner, type RunnerOptions } from "./runner.ts";
import { fakeBundle } from "./testing/fakeBundle.ts";
import { generateRequest } from "./testing/requests.ts";

function makeRunner(options: Partial<RunnerOptions> & { delayMs?: number } = {}) {
  const bundle = fakeBundle({ delayMs: options.delayMs });
  const batches: BatchReport[] = [];
  const runner = new Runner(bundle, {
    maxBatch: 16,
    maxQueue: 64,
    jobTimeoutMs: 30_000,
    ddimEta: 0,
    metrics: new RunnerMetrics({ defaultMetrics: false }),
    observer: { onBatch: (b) => batches.push(b) },
    ...options,
  });
  return { runner, bundle, batches };
}

describe("Runner with continuous batching", () => {
  it("puts the guided halves of four concurrent jobs into one call per step", async () => {
    const { runner, bundle, batches } = makeRunner();
    const req = generateRequest(bundle.id, { decoder_steps: 3, prior_steps: 3 });
    const results = await Promise.all(
      [1, 2, 3, 4].map((seed) =>
        runner.submit({ operation: "generation", request: { ...req, seed } }),
      ),
    );
    expect(results.every((r) => r.images.length === 1)).toBe(true);
    const decoderCalls = batches.filter((b) => b.stage === "decoder");
    // 4 jobs × (cond + uncond) = 8 rows, once per respaced step.
    expect(decoderCalls.map((b) => b.rows)).toEqual([8, 8, 8]);
    expect(decoderCalls[0].jobs).toHaveLength(4);
    // The upsampler is unguided: one row per image.
    expect(batches.filter((b) => b.stage === "upsampler_0").map((b) => b.rows)).toEqual([4, 4]);
    expect(bundle.fakes.decoder.calls[0].timesteps).toEqual([
      999, 999, 999, 999, 999, 999, 999, 999,
    ]);
  });

  it("runs only the conditional row when guidance is 1", async () => {
    const { runner, bundle, batches } = makeRunner();
    const request = generateRequest(bundle.id, { decoder_guidance_scale: 1, n: 2 });
    await runner.submit({ operation: "generation", request });
    expect(batches.filter((b) => b.stage === "decoder").map((b) => b.rows)).toEqual([2, 2, 2]);
  });

  it("lets a job that arrives mid-way share calls with a job at another step", async () => {
    const { runner, bundle } = makeRunner({ delayMs: 15 });
    const slow = runner.submit({
      operation: "generation",
      request: generateRequest(bundle.id, { decoder_steps: 10, prior_steps: 2, seed: 1 }),
    });
    await new Promise((r) => setTimeout(r, 120));
    const late = runner.submit({
      operation: "generation",
      request: generateRequest(bundle.id, { decoder_steps: 10, prior_steps: 2, seed: 2 }),
    });
    await Promise.all([slow, late]);
    const mixed = bundle.fakes.decoder.calls.filter((c) => new Set(c.timesteps).size > 1);
    expect(mixed.length).toBeGreaterThan(0);
  });

  it("caps each call at maxBatch rows", async () => {
    const { runner, bundle, batches } = makeRunner({ maxBatch: 4 });
    await runner.submit({ operation: "generation", request: generateRequest(bundle.id, { n: 5 }) });
    expect(Math.max(...batches.map((b) => b.rows))).toBeLessThanOrEqual(4);
  });

  it("gives the same image alone and inside a batch of four", async () => {
    const alone = makeRunner();
    const request = generateRequest(alone.bundle.id, { seed: 42 });
    const single = await alone.runner.submit({ operation: "generation", request });
    const batched = makeRunner();
    const results = await Promise.all([
      batched.runner.submit({ operation: "generation", request: { ...request, seed: 1 } }),
      batched.runner.submit({ operation: "generation", request }),
      batched.runner.submit({ operation: "generation", request: { ...request, seed: 3, n: 2 } }),
    ]);
    expect(results[1].images[0].sha256).toBe(single.images[0].sha256);
    expect(results[0].images[0].sha256).not.toBe(single.images[0].sha256);
  });
});

describe("Runner admission and cancellation", () => {
  it("answers queue_full (503 + retry-after) when the images would not fit", async () => {
    const { runner, bundle } = makeRunner({ maxQueue: 3, delayMs: 5 });
    const first = runner.submit({
      operation: "generation",
      request: generateRequest(bundle.id, { n: 2 }),
    });
    const refused = runner.submit({
      operation: "generation",
      request: generateRequest(bundle.id, { n: 2 }),
    });
    await expect(refused).rejects.toMatchObject({ kind: "queue_full", status: 503 });
    await refused.catch((e: RunnerError) => expect(e.retryAfterS).toBeGreaterThanOrEqual(1));
    await first;
    expect(runner.depth).toBe(0);
    // A refused request is no job; failed requests are counted where they are answered.
    const metrics = await runner.metrics.registry.metrics();
    expect(metrics).toMatch(/unclip_jobs_total\{operation="generation"\} 1/);
  });

  it("drops a cancelled job from the batch at the next step and finishes the others", async () => {
    const { runner, bundle, batches } = makeRunner({ delayMs: 10 });
    const abort = new AbortController();
    const request = generateRequest(bundle.id, { decoder_steps: 8 });
    const cancelled = runner.submit({ operation: "generation", request }, { signal: abort.signal });
    const survivor = runner.submit({ operation: "generation", request: { ...request, seed: 9 } });
    await new Promise((r) => setTimeout(r, 80));
    abort.abort();
    const cutoff = batches.length + 1; // the call in flight may still hold it
    await expect(cancelled).rejects.toMatchObject({ kind: "cancelled" });
    expect((await survivor).images).toHaveLength(1);
    const jobsAfter = batches.slice(cutoff).flatMap((b) => b.jobs.map((j) => j.id));
    expect(new Set(jobsAfter).size).toBe(1);
    expect(runner.depth).toBe(0);
  });

  it("answers 504 when the deadline passes mid-job, and at once when it already passed", async () => {
    const { runner, bundle } = makeRunner({ delayMs: 20 });
    const soon = Date.now() + 60;
    await expect(
      runner.submit({
        operation: "generation",
        request: generateRequest(bundle.id, { decoder_steps: 20, deadline: soon }),
      }),
    ).rejects.toMatchObject({ kind: "deadline", status: 504 });
    await expect(
      runner.submit({
        operation: "generation",
        request: generateRequest(bundle.id, { deadline: 1 }),
      }),
    ).rejects.toMatchObject({ status: 504 });
  });

  it("refuses another bundle (409) and a size the bundle does not serve (400)", async () => {
    const { runner, bundle } = makeRunner();
    await expect(
      runner.submit({ operation: "generation", request: generateRequest("other@1") }),
    ).rejects.toMatchObject({ status: 409, param: "bundle" });
    await expect(
      runner.submit({
        operation: "generation",
        request: generateRequest(bundle.id, { size: "64x64" }),
      }),
    ).rejects.toMatchObject({ status: 400, param: "size" });
  });

  it("refuses an in-process request the server's schema would refuse, naming the field (the CLI's --steps abc ran until the job timeout)", async () => {
    const { runner, bundle } = makeRunner();
    const refusal = (overrides: Parameters<typeof generateRequest>[1]) =>
      runner.submit({ operation: "generation", request: generateRequest(bundle.id, overrides) });
    await expect(refusal({ decoder_steps: Number("abc") })).rejects.toMatchObject({
      status: 400,
      param: "decoder_steps",
      message: expect.stringContaining("NaN"),
    });
    await expect(refusal({ n: 0 })).rejects.toMatchObject({ status: 400, param: "n" });
    await expect(refusal({ prior_guidance_scale: -1 })).rejects.toMatchObject({
      param: "prior_guidance_scale",
    });
    expect(bundle.fakes.decoder.calls).toHaveLength(0);
  });

  it("fails the whole job with a 500 when a network call fails, and stops its other images", async () => {
    const { runner, bundle, batches } = makeRunner();
    bundle.fakes.decoder.run = async () => {
      throw new Error("out of memory");
    };
    await expect(
      runner.submit({ operation: "generation", request: generateRequest(bundle.id, { n: 3 }) }),
    ).rejects.toMatchObject({ kind: "inference", status: 500 });
    await runner.batcher.idle();
    expect(batches.filter((b) => b.stage === "upsampler_0")).toHaveLength(0);
    expect(runner.depth).toBe(0);
  });

  it("reports progress from queued to done", async () => {
    const { runner, bundle } = makeRunner();
    const events: number[] = [];
    const stages = new Set<string>();
    await runner.submit(
      { operation: "generation", request: generateRequest(bundle.id) },
      {
        onProgress: (e) => {
          events.push(e.progress);
          stages.add(e.stage);
        },
      },
    );
    expect(events[0]).toBe(0);
    expect(events.at(-1)).toBe(1);
    expect([...events].sort((a, b) => a - b)).toEqual(events);
    expect([...stages]).toEqual([
      "queued",
      "text_encoder",
      "prior",
      "decoder",
      "upsampler",
      "encode",
    ]);
  });
});

describe("variations and interpolation", () => {
  it("encodes an uploaded PNG and decodes n variations with different noise", async () => {
    const { runner, bundle } = makeRunner();
    const first = await runner.submit({
      operation: "generation",
      request: generateRequest(bundle.id),
    });
    const result = await runner.submit({
      operation: "variation",
      request: {
        bundle: bundle.id,
        image_b64: first.images[0].png_b64,
        n: 2,
        seed: 5,
        size: "256x256",
        decoder_steps: 3,
        decoder_guidance_scale: 3,
      },
    });
    expect(result.images.map((i) => i.index)).toEqual([0, 1]);
    expect(result.images[0].sha256).not.toBe(result.images[1].sha256);
    expect(bundle.fakes.imageEncoder.calls).toHaveLength(1);
  });

  it.each(["slerp", "text_diff"] as const)("renders %s frames whose ends differ", async (mode) => {
    const { runner, bundle } = makeRunner();
    const { n: _, ...rendering } = generateRequest(bundle.id, { prompt: "a red circle" });
    const result = await runner.submit({
      operation: "interpolation",
      request: { ...rendering, target_prompt: "a blue square", mode, frames: 3 },
    });
    expect(result.images).toHaveLength(3);
    expect(result.images[0].sha256).not.toBe(result.images[2].sha256);
  });
});
