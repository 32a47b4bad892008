// With the real onnxruntime graphs of the tiny bundle: an image does not depend on which
// requests shared its network calls.
import { bytesFromBase64 } from "@unclip/shared";
import { decode } from "fast-png";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BatchReport } from "./batching/batcher.ts";
import { type LoadedBundle, loadBundle } from "./bundle/load.ts";
import { RunnerMetrics } from "./metrics.ts";
import { Runner } from "./runner.ts";
import { generateRequest } from "./testing/requests.ts";
import { TINY_BUNDLE_DIR } from "./testing/tinyBundle.ts";

describe("determinism with onnxruntime (tiny bundle)", () => {
  let bundle: LoadedBundle;
  beforeAll(async () => {
    bundle = await loadBundle(TINY_BUNDLE_DIR, { providers: ["cpu"], intraOpThreads: 1 });
  });
  afterAll(() => bundle?.release());

  const runner = (batches: BatchReport[] = []) =>
    new Runner(bundle, {
      maxBatch: 16,
      maxQueue: 64,
      jobTimeoutMs: 60_000,
      ddimEta: 0,
      metrics: new RunnerMetrics({ defaultMetrics: false }),
      observer: { onBatch: (b) => batches.push(b) },
    });

  it("gives byte-identical PNGs for a request alone and inside a batch of four", async () => {
    const request = generateRequest(bundle.id, {
      prompt: "a small red circle in the top left on a white background",
      size: "32x32",
      seed: 11,
      prior_steps: 4,
      decoder_steps: 4,
      upsampler_steps: 3,
    });
    const alone = await runner().submit({ operation: "generation", request });
    const batches: BatchReport[] = [];
    const shared = runner(batches);
    const results = await Promise.all([
      shared.submit({
        operation: "generation",
        request: { ...request, seed: 1, prompt: "two large blue squares" },
      }),
      shared.submit({ operation: "generation", request }),
      shared.submit({ operation: "generation", request: { ...request, seed: 2, n: 2 } }),
    ]);
    // The decoder calls really were shared: 4 images × 2 guided rows.
    expect(batches.filter((b) => b.stage === "decoder").map((b) => b.rows)).toContain(8);
    // Byte-identical: noise is keyed per image, the diffusion graphs give the same row for
    // batch 1 and 8, and the encoders run one row per call (see Batcher `unbatched`).
    expect(results[1].images[0].sha256).toBe(alone.images[0].sha256);
    expect(results[1].images[0].png_b64).toBe(alone.images[0].png_b64);
  });

  it("generates a real 32×32 image and resamples it to 256×256", async () => {
    const result = await runner().submit({
      operation: "generation",
      request: generateRequest(bundle.id, { size: "256x256", n: 1 }),
    });
    const png = decode(bytesFromBase64(result.images[0].png_b64));
    expect([png.width, png.height, png.channels]).toEqual([256, 256, 3]);
  });
});
