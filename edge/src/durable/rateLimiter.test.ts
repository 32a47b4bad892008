// The daily usage count and quota of the RateLimiter: the pure step, then the object itself.
import { env } from "cloudflare:workers";
import type { DailyUsage } from "@unclip/shared";
import { describe, expect, it } from "vitest";
import { msUntilNextUtcDay, takeWithQuota, utcDayOf } from "./rateLimiter.ts";

const NOON = Date.parse("2026-11-30T12:00:00Z");
const empty = (day = "2026-11-30"): DailyUsage => ({ day, units: 0, requests: 0 });

describe("takeWithQuota", () => {
  it("counts the units and requests it lets through, and not the ones it refuses", () => {
    const policy = { ratePerMinute: 0.001, burst: 5 };
    let step = takeWithQuota(undefined, empty(), 4, policy, NOON);
    expect(step.outcome).toMatchObject({ allowed: true, usedToday: 4 });
    expect(step.usage).toEqual({ day: "2026-11-30", units: 4, requests: 1 });
    step = takeWithQuota(step.bucket, step.usage, 4, policy, NOON);
    expect(step.outcome).toMatchObject({ allowed: false, usedToday: 4 });
    expect(step.outcome.quotaExceeded).toBeUndefined();
    expect(step.usage.units).toBe(4);
  });

  it("refuses a request over the daily quota without drawing from the bucket", () => {
    const policy = { ratePerMinute: 60, burst: 100, dailyQuota: 10 };
    const used = { day: "2026-11-30", units: 8, requests: 3 };
    const step = takeWithQuota(undefined, used, 4, policy, NOON);
    expect(step.outcome).toMatchObject({
      allowed: false,
      quotaExceeded: true,
      usedToday: 8,
      remaining: 100,
      retryAfterMs: 12 * 3_600_000,
    });
    expect(step.usage).toBe(used);
    // What fits is still let through, up to the quota exactly.
    expect(takeWithQuota(undefined, used, 2, policy, NOON).outcome.allowed).toBe(true);
  });

  it("reports the bucket at cost 0 even when the quota is used up", () => {
    const policy = { ratePerMinute: 60, burst: 100, dailyQuota: 10 };
    const step = takeWithQuota(undefined, { ...empty(), units: 10 }, 0, policy, NOON);
    expect(step.outcome.allowed).toBe(true);
    expect(step.outcome.quotaExceeded).toBeUndefined();
  });

  it("names UTC days and the time to the next one", () => {
    expect(utcDayOf(Date.parse("2026-11-30T23:59:59.999Z"))).toBe("2026-11-30");
    expect(utcDayOf(Date.parse("2026-12-01T00:00:00Z"))).toBe("2026-12-01");
    expect(msUntilNextUtcDay(Date.parse("2026-11-30T23:59:59Z"))).toBe(1000);
  });
});

describe("RateLimiter usage", () => {
  const stub = () => env.RATE_LIMITER.get(env.RATE_LIMITER.idFromName(crypto.randomUUID()));

  it("counts today's units atomically with the bucket under concurrent takes", async () => {
    const limiter = stub();
    const policy = { ratePerMinute: 0.001, burst: 100, dailyQuota: 7 };
    const outcomes = await Promise.all(Array.from({ length: 20 }, () => limiter.take(1, policy)));
    expect(outcomes.filter((o) => o.allowed)).toHaveLength(7);
    expect(outcomes.filter((o) => o.quotaExceeded)).toHaveLength(13);
    const [today] = await limiter.usage(1);
    expect(today).toEqual({ day: utcDayOf(Date.now()), units: 7, requests: 7 });
  });

  it("takes a refunded request back out of today's count", async () => {
    const limiter = stub();
    const policy = { ratePerMinute: 60, burst: 100 };
    await limiter.take(4, policy);
    await limiter.take(2, policy);
    await limiter.refund(4, policy);
    expect((await limiter.usage(1))[0]).toMatchObject({ units: 2, requests: 1 });
  });

  it("lists the last N days, today first, with 0 for days without use", async () => {
    const limiter = stub();
    await limiter.take(3, { ratePerMinute: 60, burst: 100 });
    const days = await limiter.usage(3);
    expect(days.map((d) => d.day)).toEqual(
      [0, 1, 2].map((i) => utcDayOf(Date.now() - i * 86_400_000)),
    );
    expect(days.map((d) => d.units)).toEqual([3, 0, 0]);
  });
});
