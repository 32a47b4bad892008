import { describe, expect, it } from "vitest";
import { type Cell, pairedDifference } from "./sweepTable.ts";

const cell = (hits: number[], prompts = hits.map((_, k) => `prompt ${k}`)): Cell => ({
  prompts: hits.length,
  images_per_prompt: 4,
  steps: { prior: 4, decoder: 10 },
  guidance: { prior: 2, decoder: 3 },
  judge_ceiling: 0.75,
  judge_r_precision_at_1: hits.reduce((s, h) => s + h, 0) / hits.length,
  judge_diversity_cosine: 0.7,
  r_precision_at_1: 0.2,
  generation_seconds: 1,
  per_prompt: hits.map((judge, k) => ({ prompt: prompts[k], judge })),
});

describe("a sweep cell against the defaults, paired by prompt", () => {
  it("is zero with no spread for the same cell", () => {
    const c = cell([0, 0.25, 1, 0.5]);
    expect(pairedDifference(c, c)).toEqual({ mean: 0, halfWidth: 0 });
  });

  it("keeps a shift every prompt shares tight, where the prompts' own spread is wide", () => {
    const base = cell([0, 0.25, 1, 0.5, 0, 0.75]);
    const better = cell(base.per_prompt.map((p) => p.judge + 0.25));
    const { mean, halfWidth } = pairedDifference(better, base);
    expect(mean).toBeCloseTo(0.25);
    expect(halfWidth).toBeCloseTo(0);
  });

  it("gives a wide interval to a difference that goes both ways", () => {
    const { mean, halfWidth } = pairedDifference(cell([1, 0, 1, 0]), cell([0, 1, 0, 1]));
    expect(mean).toBe(0);
    expect(halfWidth).toBeGreaterThan(0.9);
  });

  it("refuses cells whose prompts differ (a sweep must not mix runs)", () => {
    expect(() => pairedDifference(cell([1, 0]), cell([1, 0], ["a cat", "pizza"]))).toThrow(
      /prompt 0 differs/,
    );
  });
});
