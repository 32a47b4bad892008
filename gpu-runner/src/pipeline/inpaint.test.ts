import { base64FromBytes, bytesFromBase64 } from "@unclip/shared";
import { decode, encode } from "fast-png";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LoadedBundle, loadBundle } from "../bundle/load.ts";
import type { RunnerError } from "../errors.ts";
import { RunnerMetrics } from "../metrics.ts";
import { Runner } from "../runner.ts";
import { generateRequest } from "../testing/requests.ts";
import { TINY_BUNDLE_DIR } from "../testing/tinyBundle.ts";
import { compositeKept, editInputFrom, knownRegionAt, maskedSampling } from "./inpaint.ts";

/** A side×side RGBA PNG: a colour gradient, alpha 0 inside the square [lo, hi)² when `hole`. */
function rgbaPng(side: number, hole?: { lo: number; hi: number }): Uint8Array {
  const data = new Uint8Array(side * side * 4);
  for (let y = 0; y < side; y++) {
    for (let x = 0; x < side; x++) {
      const p = (y * side + x) * 4;
      const inHole = hole && x >= hole.lo && x < hole.hi && y >= hole.lo && y < hole.hi;
      data.set([(x * 255) / (side - 1), (y * 255) / (side - 1), 90, inHole ? 0 : 255], p);
    }
  }
  return encode({ width: side, height: side, data, channels: 4, depth: 8 });
}

const opaqueRgbPng = (side: number) =>
  encode({
    width: side,
    height: side,
    data: new Uint8Array(side * side * 3).fill(128),
    channels: 3,
  });

describe("editInputFrom", () => {
  it("redraws exactly the fully transparent pixels of the image's own alpha", () => {
    const input = editInputFrom(rgbaPng(8, { lo: 2, hi: 5 }));
    expect(input.side).toBe(8);
    const redrawn = [...input.keep.entries()].filter(([, k]) => k === 0).map(([p]) => p);
    expect(redrawn).toHaveLength(9);
    expect(redrawn).toContain(2 * 8 + 2);
    expect(redrawn).not.toContain(5 * 8 + 5);
    // A kept pixel keeps its colour: (x=7 → 255 → 1, y=0 → 0 → −1, 90 → ≈ −0.29).
    expect(input.pixels[7]).toBeCloseTo(1, 6);
    expect(input.pixels[64 + 7]).toBeCloseTo(-1, 6);
  });

  it("takes the mask's alpha instead of the image's when a mask is sent", () => {
    const input = editInputFrom(opaqueRgbPng(8), rgbaPng(8, { lo: 0, hi: 4 }));
    expect(input.keep.filter((k) => k === 0)).toHaveLength(16);
  });

  it("refuses a mask of another size, naming the mask", () => {
    expect(() => editInputFrom(rgbaPng(8), rgbaPng(16, { lo: 0, hi: 4 }))).toThrow(
      expect.objectContaining({ kind: "bad_request", param: "mask" }) as RunnerError,
    );
  });

  it("refuses an edit with nothing to redraw, naming the field that should have said what", () => {
    expect(() => editInputFrom(opaqueRgbPng(8))).toThrow(
      expect.objectContaining({ param: "image", message: expect.stringMatching(/transparent/) }),
    );
    expect(() => editInputFrom(opaqueRgbPng(8), opaqueRgbPng(8))).toThrow(
      expect.objectContaining({ param: "mask" }),
    );
  });

  it("refuses bytes that are not a PNG, naming the field", () => {
    expect(() => editInputFrom(new Uint8Array([1, 2, 3]))).toThrow(
      expect.objectContaining({ param: "image" }),
    );
  });
});

describe("maskedSampling", () => {
  const input = editInputFrom(rgbaPng(8, { lo: 2, hi: 6 }));
  const known = knownRegionAt(input, 8);
  const x = new Float32Array(3 * 64).fill(0.123);

  it("puts the kept pixels back exactly at ᾱ = 1 and leaves the redrawn ones alone", () => {
    const out = maskedSampling(known, { seed: 1, index: 0, stage: 66 })(x, 1, 5);
    for (let i = 0; i < out.length; i++) {
      expect(out[i]).toBeCloseTo(input.keep[i % 64] ? input.pixels[i] : 0.123, 6);
    }
  });

  it("noises the kept pixels to the step's level: √ᾱ·x₀ + √(1−ᾱ)·ε, reproducibly", () => {
    const constrain = maskedSampling(known, { seed: 1, index: 0, stage: 66 });
    const a = constrain(x, 0.25, 3);
    expect(Array.from(constrain(x, 0.25, 3))).toEqual(Array.from(a));
    const residuals: number[] = [];
    for (let i = 0; i < a.length; i++) {
      if (input.keep[i % 64]) residuals.push((a[i] - 0.5 * input.pixels[i]) / Math.sqrt(0.75));
      else expect(a[i]).toBeCloseTo(0.123, 6);
    }
    const mean = residuals.reduce((s, r) => s + r, 0) / residuals.length;
    const variance = residuals.reduce((s, r) => s + (r - mean) ** 2, 0) / residuals.length;
    expect(Math.abs(mean)).toBeLessThan(0.2);
    expect(variance).toBeGreaterThan(0.6);
    expect(variance).toBeLessThan(1.5);
  });
});

describe("compositeKept", () => {
  it("restores kept pixels exactly at the input's size and grows the hole at a smaller one", () => {
    const input = editInputFrom(rgbaPng(8, { lo: 3, hi: 5 }));
    const generated = new Float32Array(3 * 64).fill(0.5);
    const out = compositeKept(generated, input, 8);
    for (let i = 0; i < out.length; i++) {
      expect(out[i]).toBe(input.keep[i % 64] ? input.pixels[i] : 0.5);
    }
    // At 4×4 each output pixel covers 2×2 inputs; the hole (3..4)² touches the centre four.
    const small = compositeKept(new Float32Array(3 * 16).fill(0.5), input, 4);
    const redrawn = [...small.subarray(0, 16).entries()].filter(([, v]) => v === 0.5);
    expect(redrawn.map(([p]) => p)).toEqual([5, 6, 9, 10]);
  });
});

describe("edits with onnxruntime (tiny bundle)", () => {
  let bundle: LoadedBundle;
  beforeAll(async () => {
    bundle = await loadBundle(TINY_BUNDLE_DIR, { providers: ["cpu"], intraOpThreads: 1 });
  });
  afterAll(() => bundle?.release());

  it("keeps every pixel outside the mask byte for byte and redraws the inside", async () => {
    const runner = new Runner(bundle, {
      maxBatch: 8,
      maxQueue: 16,
      jobTimeoutMs: 60_000,
      ddimEta: 0,
      metrics: new RunnerMetrics({ defaultMetrics: false }),
    });
    const side = 32; // the tiny bundle's native size, so the composite is exact
    const image = rgbaPng(side, { lo: 8, hi: 24 });
    const request = {
      ...generateRequest(bundle.id, {
        prompt: "a large yellow circle in the center on a black background",
        size: "32x32",
        n: 2,
      }),
      image_b64: base64FromBytes(image),
    };
    const result = await runner.submit({ operation: "edit", request });
    expect(result.images).toHaveLength(2);
    const source = decode(image).data;
    for (const out of result.images) {
      const pixels = decode(bytesFromBase64(out.png_b64)).data; // RGB
      let insideDiff = 0;
      for (let p = 0; p < side * side; p++) {
        const kept = source[p * 4 + 3] !== 0;
        for (let c = 0; c < 3; c++) {
          const d = Math.abs(pixels[p * 3 + c] - source[p * 4 + c]);
          if (kept) expect(d).toBe(0);
          else insideDiff += d;
        }
      }
      expect(insideDiff / (16 * 16 * 3)).toBeGreaterThan(5);
    }
    expect(result.images[0].sha256).not.toBe(result.images[1].sha256);
  });
});
