import { describe, expect, it } from "vitest";
import { gaussianNoise, NOISE_STAGE, philox4x32 } from "./noise.ts";

const hex = (words: number[]) => words.map((w) => w.toString(16).padStart(8, "0")).join(" ");

describe("philox4x32", () => {
  it("matches the Random123 known-answer vectors", () => {
    expect(hex(philox4x32([0, 0, 0, 0], [0, 0]))).toBe("6627e8d5 e169c58d bc57ac4c 9b00dbd8");
    expect(
      hex(philox4x32([0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff], [0xffffffff, 0xffffffff])),
    ).toBe("408f276d 41c83b0e a20bc7c6 6d5451fd");
    expect(
      hex(philox4x32([0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344], [0xa4093822, 0x299f31d0])),
    ).toBe("d16cfe09 94fdcceb 5001e420 24126ea1");
  });
});

describe("gaussianNoise", () => {
  const key = { seed: 7, index: 0, stage: NOISE_STAGE.decoder, step: 0 };

  it("is a pure function of (seed, index, stage, step)", () => {
    expect(gaussianNoise(key, 768)).toEqual(gaussianNoise(key, 768));
  });

  it("gives a longer tensor whose prefix is the shorter one", () => {
    expect(gaussianNoise(key, 1000).subarray(0, 333)).toEqual(gaussianNoise(key, 333));
  });

  it("changes with each field of the key", () => {
    const base = gaussianNoise(key, 64);
    for (const other of [
      { ...key, seed: 8 },
      { ...key, index: 1 },
      { ...key, stage: NOISE_STAGE.prior },
      { ...key, step: 1 },
    ]) {
      expect(gaussianNoise(other, 64)).not.toEqual(base);
    }
  });

  it("has roughly zero mean and unit variance", () => {
    const z = gaussianNoise({ ...key, seed: 123 }, 100_000);
    let sum = 0;
    let sq = 0;
    for (const v of z) {
      sum += v;
      sq += v * v;
    }
    const mean = sum / z.length;
    expect(z.every(Number.isFinite)).toBe(true);
    expect(Math.abs(mean)).toBeLessThan(0.015);
    expect(Math.abs(sq / z.length - mean * mean - 1)).toBeLessThan(0.03);
  });
});
