import { describe, expect, it } from "vitest";
import {
  alphasCumprodFor,
  betasFor,
  linspace,
  respacedTimesteps,
  roundHalfEven,
  timestepsFor,
} from "./schedule.ts";

describe("respacedTimesteps", () => {
  it("rounds linspace(T−1, 0, S) half to even, like Python's round", () => {
    expect(respacedTimesteps(1000, 5)).toEqual([999, 749, 500, 250, 0]);
    expect(roundHalfEven(0.5)).toBe(0);
    expect(roundHalfEven(1.5)).toBe(2);
    expect(roundHalfEven(2.5)).toBe(2);
  });

  it("is descending, starts at T−1, ends at 0 and drops duplicates", () => {
    const ts = respacedTimesteps(10, 50);
    expect(ts).toEqual([9, 8, 7, 6, 5, 4, 3, 2, 1, 0]);
    expect(respacedTimesteps(1000, 1)).toEqual([999]);
  });

  it("refuses a step count that would give no timesteps (NaN, 0) or is not whole", () => {
    for (const steps of [Number.NaN, 0, -3, 2.5]) {
      expect(() => timestepsFor("ddim", 1000, steps)).toThrow(RangeError);
      expect(() => timestepsFor("dpmpp_2m", 1000, steps)).toThrow(RangeError);
    }
    expect(timestepsFor("ddim", 1000, 5)).toEqual(respacedTimesteps(1000, 5));
  });
});

describe("noise schedules", () => {
  it("linear betas run from 1e-4 to 0.02", () => {
    const b = betasFor({ name: "linear", timesteps: 1000 });
    expect(b[0]).toBe(1e-4);
    expect(b[999]).toBe(0.02);
    expect(linspace(0, 1, 5)).toEqual(new Float64Array([0, 0.25, 0.5, 0.75, 1]));
  });

  it("cosine ᾱ falls monotonically from ≈1 to ≈0 with betas capped at 0.999", () => {
    const T = 1000;
    const ab = alphasCumprodFor({ name: "cosine", timesteps: T });
    const betas = betasFor({ name: "cosine", timesteps: T });
    expect(ab[0]).toBeGreaterThan(0.9999);
    expect(ab[T - 1]).toBeLessThan(1e-4);
    for (let t = 1; t < T; t++) expect(ab[t]).toBeLessThan(ab[t - 1]);
    expect(Math.max(...betas)).toBeLessThanOrEqual(0.999);
    // ᾱ(t) ≈ f(t+1)/f(0) away from the cap (Nichol & Dhariwal eq. 17).
    const f = (t: number) => Math.cos(((t / T + 0.008) / 1.008) * (Math.PI / 2)) ** 2;
    expect(ab[499]).toBeCloseTo(f(500) / f(0), 10);
  });
});
