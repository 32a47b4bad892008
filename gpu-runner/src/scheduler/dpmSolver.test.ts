import { describe, expect, it } from "vitest";
import { ddimStep } from "./ddim.ts";
import { dpmSolver2mStep, logSnrHalf } from "./dpmSolver.ts";

function expectAllClose(actual: ArrayLike<number>, expected: ArrayLike<number>, digits = 6) {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < actual.length; i++) expect(actual[i]).toBeCloseTo(expected[i], digits);
}

const x = Float32Array.of(0.3, -1.1, 2.2, 0.05);
const pred = Float64Array.of(0.4, -0.9, 1.7, -0.2);

describe("dpmSolver2mStep", () => {
  it("takes exactly DDIM's (η = 0) step when it has no previous x0 (first order)", () => {
    for (const prediction of ["eps", "x0", "v"] as const) {
      const step = { alphaBar: 0.3, alphaBarNext: 0.55, prediction, clipX0: true };
      const ours = dpmSolver2mStep(x, pred, step);
      expectAllClose(ours.x, ddimStep(x, pred, { ...step, eta: 0 }));
    }
  });

  it("returns the (clipped) x0 estimate on the step onto the clean sample", () => {
    const step = { alphaBar: 0.9, alphaBarNext: 1, prediction: "x0" as const, clipX0: true };
    const previous = Float64Array.of(0, 0, 0, 0);
    const out = dpmSolver2mStep(x, pred, { ...step, alphaBarPrevious: 0.5 }, previous);
    expect(Array.from(out.x)).toEqual([0.4, -0.9, 1, -0.2].map(Math.fround));
    expect(Array.from(out.x0)).toEqual([0.4, -0.9, 1, -0.2]);
  });

  it("adds the multistep correction (1/2r)(x0_i − x0_{i−1})·α'(1 − e^{−h}) to the first-order step", () => {
    const step = {
      alphaBar: 0.3,
      alphaBarNext: 0.55,
      alphaBarPrevious: 0.1,
      prediction: "x0" as const,
      clipX0: false,
    };
    const previous = Float64Array.of(0.1, 0.2, 0.3, 0.4);
    const first = dpmSolver2mStep(x, pred, step).x;
    const second = dpmSolver2mStep(x, pred, step, previous).x;
    const h = logSnrHalf(0.55) - logSnrHalf(0.3);
    const r = (logSnrHalf(0.3) - logSnrHalf(0.1)) / h;
    const scale = Math.sqrt(0.55) * -Math.expm1(-h) * (1 / (2 * r));
    expectAllClose(
      second,
      Array.from(first, (v, i) => v + scale * (pred[i] - previous[i])),
      5,
    );
  });

  it("refuses a second-order step without the previous timestep's ᾱ", () => {
    const step = { alphaBar: 0.3, alphaBarNext: 0.55, prediction: "x0" as const, clipX0: false };
    expect(() => dpmSolver2mStep(x, pred, step, new Float64Array(4))).toThrow(/alphaBarPrevious/);
    expect(() =>
      dpmSolver2mStep(x, pred, { ...step, alphaBarPrevious: 0.1 }, new Float64Array(3)),
    ).toThrow(/length 4/);
  });
});
