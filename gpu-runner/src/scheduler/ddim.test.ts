import { describe, expect, it } from "vitest";
import { ddimSigma, ddimStep, guide, x0AndEps } from "./ddim.ts";

function expectAllClose(actual: ArrayLike<number>, expected: ArrayLike<number>, digits = 6) {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < actual.length; i++) expect(actual[i]).toBeCloseTo(expected[i], digits);
}

const x0True = new Float64Array([0.5, -0.25, 0.9, -1]);
const epsTrue = new Float64Array([0.3, -1.2, 0.7, 2.0]);
const noisy = (ab: number) =>
  new Float32Array(x0True.map((x0, i) => Math.sqrt(ab) * x0 + Math.sqrt(1 - ab) * epsTrue[i]));

describe("x0AndEps", () => {
  const ab = 0.37;
  const x = noisy(ab);
  const cases = {
    eps: Float64Array.from(epsTrue),
    x0: Float64Array.from(x0True),
    // v = √ᾱ eps − √(1−ᾱ) x0 (Salimans & Ho 2022)
    v: x0True.map((x0, i) => Math.sqrt(ab) * epsTrue[i] - Math.sqrt(1 - ab) * x0),
  } as const;
  for (const [prediction, pred] of Object.entries(cases)) {
    it(`recovers x0 and eps from a perfect ${prediction} prediction`, () => {
      const { x0, eps } = x0AndEps(x, pred, ab, prediction as "eps" | "x0" | "v");
      expectAllClose(x0, x0True);
      expectAllClose(eps, epsTrue);
    });
  }
});

describe("ddimStep", () => {
  it("moves a perfectly predicted sample exactly onto the marginal at the next timestep", () => {
    const [ab, abNext] = [0.2, 0.6];
    const next = ddimStep(noisy(ab), x0True, {
      alphaBar: ab,
      alphaBarNext: abNext,
      prediction: "x0",
      clipX0: false,
      eta: 0,
    });
    expectAllClose(next, noisy(abNext));
  });

  it("returns the (clipped) x0 estimate at the last step", () => {
    const out = ddimStep(noisy(0.5), Float64Array.of(2, -3, 0.1, 0.2), {
      alphaBar: 0.5,
      alphaBarNext: 1,
      prediction: "x0",
      clipX0: true,
      eta: 1,
    });
    expect(Array.from(out)).toEqual([1, -1, Math.fround(0.1), Math.fround(0.2)]);
  });

  it("adds σ·z when η > 0 and refuses to run without noise", () => {
    const step = {
      alphaBar: 0.2,
      alphaBarNext: 0.6,
      prediction: "x0" as const,
      clipX0: false,
      eta: 1,
    };
    const sigma = ddimSigma(0.2, 0.6, 1);
    expect(sigma).toBeGreaterThan(0);
    const z = new Float32Array([1, 1, 1, 1]);
    const withNoise = ddimStep(noisy(0.2), x0True, step, z);
    const deterministic = ddimStep(noisy(0.2), x0True, { ...step, eta: 0 });
    expect(() => ddimStep(noisy(0.2), x0True, step)).toThrow(/noise array/);
    // Same x0, less eps weight, plus σ: compare against the closed form.
    const ceps = Math.sqrt(1 - 0.6 - sigma ** 2);
    const closedForm = x0True.map((x0, i) => Math.sqrt(0.6) * x0 + ceps * epsTrue[i] + sigma);
    expectAllClose(withNoise, closedForm, 5);
    expect(withNoise).not.toEqual(deterministic);
  });
});

describe("guide", () => {
  it("mixes u + s·(c − u): s = 0 is unconditional, s = 1 conditional, s > 1 extrapolates", () => {
    const c = new Float32Array([1, 2]);
    const u = new Float32Array([0, 4]);
    expect(Array.from(guide(c, u, 0))).toEqual([0, 4]);
    expect(Array.from(guide(c, u, 1))).toEqual([1, 2]);
    expect(Array.from(guide(c, u, 3))).toEqual([3, -2]);
  });
});
