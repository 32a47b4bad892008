import { bytesFromBase64, type PoolPartialImage } from "@unclip/shared";
import { decode } from "fast-png";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LoadedBundle, loadBundle } from "../bundle/load.ts";
import { generateRequest } from "../testing/requests.ts";
import { testRunner } from "../testing/runner.ts";
import { TINY_BUNDLE_DIR } from "../testing/tinyBundle.ts";
import { partialSchedule } from "./partials.ts";

/** The schedule as [stage, call, partial index] triples, in order. */
function points(stageSteps: number[], count: number): [number, number, number][] {
  return partialSchedule(stageSteps, count).flatMap((at, stage) =>
    [...at].map(([call, index]) => [stage, call, index] as [number, number, number]),
  );
}

describe("partial image schedule", () => {
  it("divides the decoder and upsampler calls into equal parts", () => {
    // emoji-gpu: 10 decoder calls then 4 upsampler calls; 3 partials at calls 4, 7, 11 of 14.
    expect(points([10, 4], 3)).toEqual([
      [0, 4, 0],
      [0, 7, 1],
      [1, 1, 2],
    ]);
    expect(points([10, 4], 1)).toEqual([[0, 7, 0]]);
    expect(points([10, 4], 2)).toEqual([
      [0, 5, 0],
      [0, 9, 1],
    ]);
  });

  it("takes no partial at all for zero, and never the final call", () => {
    expect(points([10, 4], 0)).toEqual([]);
    for (let total = 1; total <= 12; total++) {
      for (let count = 0; count <= 3; count++) {
        const calls = points([total], count).map(([, call]) => call);
        expect(calls.every((c) => c >= 1 && c < total)).toBe(true);
        expect(new Set(calls).size).toBe(calls.length);
        expect(calls.length).toBe(Math.min(count, total - 1));
      }
    }
  });
});

describe("partial images from the tiny bundle", () => {
  let bundle: LoadedBundle;
  beforeAll(async () => {
    bundle = await loadBundle(TINY_BUNDLE_DIR, { providers: ["cpu"], intraOpThreads: 1 });
  });
  afterAll(() => bundle?.release());

  const request = (overrides = {}) =>
    generateRequest(bundle.id, {
      size: "256x256",
      seed: 11,
      prior_steps: 3,
      decoder_steps: 6,
      upsampler_steps: 3,
      ...overrides,
    });

  it("streams the x0 predictions at the requested size, in order, before the result, coming into focus", async () => {
    const runner = testRunner(bundle);
    const seen: (PoolPartialImage | "result")[] = [];
    const result = await runner.submit(
      { operation: "generation", request: request({ partial_images: 3 }) },
      { onPartial: (p) => seen.push(p) },
    );
    seen.push("result");
    const partials = seen.filter((e): e is PoolPartialImage => e !== "result");
    expect(partials.map((p) => p.partial_image_index)).toEqual([0, 1, 2]);
    expect(seen.at(-1)).toBe("result");
    const final = decode(bytesFromBase64(result.images[0].png_b64)).data;
    const distances = partials.map((p) => {
      const image = decode(bytesFromBase64(p.png_b64));
      expect([image.width, image.height, p.width, p.index]).toEqual([256, 256, 256, 0]);
      let sum = 0;
      for (let i = 0; i < final.length; i++) sum += Math.abs(image.data[i] - final[i]);
      return sum / final.length;
    });
    // Each partial is a real picture, not the final one, and the last is the closest to it.
    expect(distances.every((d) => d > 0)).toBe(true);
    expect(distances[2]).toBeLessThan(distances[0]);
  });

  it("leaves the final image exactly as without partials", async () => {
    const runner = testRunner(bundle);
    const plain = await runner.submit({ operation: "generation", request: request() });
    const streamed = await runner.submit(
      { operation: "generation", request: request({ partial_images: 2 }) },
      { onPartial: () => {} },
    );
    expect(streamed.images[0].sha256).toBe(plain.images[0].sha256);
  });

  it("makes no partial for an answer nobody streams, even when the request names some", async () => {
    const runner = testRunner(bundle);
    const seen: PoolPartialImage[] = [];
    await runner.submit(
      { operation: "generation", request: request({ partial_images: 2 }) },
      { onProgress: () => {} },
    );
    await runner.submit(
      { operation: "generation", request: request() },
      { onPartial: (p) => seen.push(p) },
    );
    expect(seen).toEqual([]);
  });
});
