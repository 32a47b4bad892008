// The committed judge in onnxruntime-node gives what PyTorch gave when it was exported
// (judge.json's goldens), its tokenizer gives the Python ids, and the ranking helpers count
// what they say they count.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Judge, loadJudge, nearestPrompt, pairwiseCosines } from "./judge.ts";

const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};

/** judge.golden_image: a red disc of radius sqrt(0.5) on white, (1, 3, R, R) in [-1, 1]. */
function goldenImage(R: number): Float32Array {
  const out = new Float32Array(3 * R * R);
  for (let y = 0; y < R; y++)
    for (let x = 0; x < R; x++) {
      const [u, v] = [-1 + (2 * x) / (R - 1), -1 + (2 * y) / (R - 1)];
      const disc = u * u + v * v < 0.5 ? 1 : 0;
      out[y * R + x] = 1;
      out[R * R + y * R + x] = 1 - 2 * disc;
      out[2 * R * R + y * R + x] = 1 - 2 * disc;
    }
  return out;
}

describe("the committed judge", () => {
  let judge: Judge;
  beforeAll(async () => {
    judge = await loadJudge();
  });
  afterAll(async () => {
    await judge.release();
  });

  it("tokenizes the golden prompts to the ids Python gave", () => {
    const { golden } = judge.card;
    expect(golden.prompts.map((p) => judge.tokenizer.inputIds(p))).toEqual(golden.input_ids);
  });

  it("embeds the golden prompts and picture as PyTorch did, within 1e-4", async () => {
    const { golden, resolution } = judge.card;
    const texts = await judge.embedTexts(golden.prompts);
    for (const [i, t] of texts.entries())
      expect(maxAbsDiff(t, golden.text_embed[i])).toBeLessThan(1e-4);
    const [image] = await judge.embedTensor(goldenImage(resolution), 1);
    expect(maxAbsDiff(image, golden.image_embed)).toBeLessThan(1e-4);
  });

  it("carries a ceiling for every generator style", () => {
    const { ceiling } = judge.card;
    expect(Object.keys(ceiling.per_style).length).toBeGreaterThanOrEqual(7);
    expect(ceiling.r_precision_at_1).toBeGreaterThan(0);
  });
});

describe("ranking helpers", () => {
  const f = (...v: number[]) => Float32Array.from(v);

  it("nearestPrompt returns the prompt with the highest cosine", () => {
    expect(nearestPrompt(f(0.1, 0.9), [f(1, 0), f(0, 1)])).toBe(1);
    expect(nearestPrompt(f(1, 0), [f(1, 0), f(0, 1)])).toBe(0);
  });

  it("pairwiseCosines sums every unordered pair once", () => {
    expect(pairwiseCosines([f(1, 0), f(0, 1), f(1, 0)])).toEqual({ sum: 1, pairs: 3 });
    expect(pairwiseCosines([f(1, 0)])).toEqual({ sum: 0, pairs: 0 });
  });
});
