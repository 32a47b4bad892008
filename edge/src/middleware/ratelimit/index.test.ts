import { createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { sha256Hex } from "@unclip/shared";
import fc from "fast-check";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { errorOf, generate, newApiKey, ORIGIN, uniqueSeed } from "../../../test/helpers.ts";
import { busy, FakePool } from "../../../test/pool.ts";
import { app } from "../../app.ts";
import { drawFromBucket, refundToBucket } from "../../durable/rateLimiter.ts";
import { costOf } from "./index.ts";

const policy = { ratePerMinute: 60, burst: 10 };

describe("costOf", () => {
  it("charges images × pixels in units of one 256×256 image", () => {
    expect(costOf(1, "256x256")).toBe(1);
    expect(costOf(1, "512x512")).toBe(4);
    expect(costOf(10, "1024x1024")).toBe(160);
    expect(costOf(2, "64x64")).toBe(0.125);
  });
});

describe("drawFromBucket", () => {
  it("starts full, takes the cost, and refills at the policy's rate", () => {
    let step = drawFromBucket(undefined, 4, policy, 0);
    expect(step.outcome).toMatchObject({ allowed: true, limit: 10, remaining: 6 });
    step = drawFromBucket(step.state, 7, policy, 0);
    expect(step.outcome).toMatchObject({ allowed: false, remaining: 6, retryAfterMs: 1000 });
    step = drawFromBucket(step.state, 7, policy, 1000);
    expect(step.outcome).toMatchObject({ allowed: true, remaining: 0, resetMs: 10_000 });
  });

  it("refunds units without ever going above the burst", () => {
    const spent = drawFromBucket(undefined, 8, policy, 0).state;
    expect(refundToBucket(spent, 5, policy, 0).outcome.remaining).toBe(7);
    expect(refundToBucket(spent, 50, policy, 0).outcome.remaining).toBe(10);
  });

  it("never lets the tokens go negative or above the burst, whatever the sequence", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.double({ min: 0, max: 20, noNaN: true }), fc.nat(5000)), {
          maxLength: 50,
        }),
        (draws) => {
          let state: { tokens: number; updatedAt: number } | undefined;
          let now = 0;
          for (const [cost, wait] of draws) {
            now += wait;
            const step = drawFromBucket(state, cost, policy, now);
            state = step.state;
            expect(state.tokens).toBeGreaterThanOrEqual(0);
            expect(state.tokens).toBeLessThanOrEqual(policy.burst);
            if (step.outcome.allowed) expect(cost).toBeLessThanOrEqual(policy.burst);
          }
        },
      ),
    );
  });
});

describe("RateLimiter durable object", () => {
  it("never overdraws under concurrent takes: exactly burst/cost of them succeed", async () => {
    const bucket = env.RATE_LIMITER.get(env.RATE_LIMITER.idFromName(crypto.randomUUID()));
    const outcomes = await Promise.all(
      Array.from({ length: 25 }, () => bucket.take(1, { ratePerMinute: 0.001, burst: 10 })),
    );
    expect(outcomes.filter((o) => o.allowed)).toHaveLength(10);
    expect(Math.min(...outcomes.map((o) => o.remaining))).toBe(0);
  });
});

describe("rate limiting on the API", () => {
  let pool: FakePool;
  beforeEach(() => {
    pool = new FakePool().install();
  });
  afterEach(() => pool.restore());

  it("puts x-ratelimit-* headers on successes and on validation errors", async () => {
    const key = await newApiKey({ burst: 50, rate_per_minute: 60 });
    const ok = await generate({ prompt: "a red circle", seed: uniqueSeed(), size: "512x512" }, key);
    expect(ok.status).toBe(200);
    expect(ok.headers.get("x-ratelimit-limit-requests")).toBe("50");
    expect(ok.headers.get("x-ratelimit-remaining-requests")).toBe("46");
    expect(ok.headers.get("x-ratelimit-reset-requests")).toMatch(/^\d+s$/);
    const bad = await generate({ prompt: "" }, key);
    expect(bad.status).toBe(400);
    expect(bad.headers.get("x-ratelimit-remaining-requests")).toBe("46");
  });

  it("answers 429 rate_limit_exceeded with retry-after once the key's units are spent", async () => {
    const key = await newApiKey({ burst: 4, rate_per_minute: 1 });
    expect(
      (await generate({ prompt: "a red circle", size: "512x512", seed: uniqueSeed() }, key)).status,
    ).toBe(200);
    const res = await generate({ prompt: "a red circle", seed: uniqueSeed() }, key);
    expect(res.status).toBe(429);
    expect(Number(res.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect(res.headers.get("x-ratelimit-remaining-requests")).toBe("0");
    expect(await res.json()).toMatchObject({
      error: { type: "rate_limit_error", code: "rate_limit_exceeded" },
    });
  });

  it("lets concurrent requests of one key through only up to its burst", async () => {
    const key = await newApiKey({ burst: 3, rate_per_minute: 0.001 });
    const statuses = await Promise.all(
      Array.from({ length: 8 }, () =>
        generate({ prompt: "a red circle", seed: uniqueSeed() }, key).then((r) => r.status),
      ),
    );
    expect(statuses.filter((s) => s === 200)).toHaveLength(3);
    expect(statuses.filter((s) => s === 429)).toHaveLength(5);
    expect(pool.calls).toHaveLength(3);
  });

  it("gives the units back when the pool fails the request", async () => {
    pool.handler = busy(1);
    const key = await newApiKey({ burst: 8, rate_per_minute: 0.001 });
    const res = await generate(
      { prompt: "a red circle", seed: uniqueSeed(), size: "512x512" },
      key,
    );
    expect(res.status).toBe(503);
    expect(res.headers.get("x-ratelimit-remaining-requests")).toBe("8");
  });

  it("stops a key at the per-location first line (Rate Limiting binding) before the bucket", async () => {
    // The binding's windows are aligned to the wall clock (60 s); redo the run if one ends
    // in the middle of it.
    const minute = () => Math.floor(Date.now() / 60_000);
    for (let attempt = 0; attempt < 2; attempt++) {
      const started = minute();
      const key = await newApiKey();
      const hash = await sha256Hex(key);
      let allowed = 0;
      while (allowed < 2000 && (await env.EDGE_RATE_LIMIT.limit({ key: hash })).success) allowed++;
      const res = await generate({ prompt: "a red circle", seed: uniqueSeed() }, key);
      if (minute() !== started) continue;
      expect(allowed).toBe(600); // wrangler.toml: 600 requests per 60 s
      expect(res.status).toBe(429);
      expect(res.headers.get("retry-after")).toBe("10");
      expect(res.headers.get("x-ratelimit-limit-requests")).toEqual(expect.any(String));
      expect((await errorOf(res)).code).toBe("rate_limit_exceeded");
      expect(pool.calls).toHaveLength(0);
      return;
    }
    throw new Error("two runs in a row crossed a minute boundary");
  });

  it("skips the first line when EDGE_RATE_LIMIT_ENABLED is false, keeping the token bucket", async () => {
    const key = await newApiKey({ burst: 1, rate_per_minute: 1 });
    const hash = await sha256Hex(key);
    while ((await env.EDGE_RATE_LIMIT.limit({ key: hash })).success) {}
    const off = { ...env, EDGE_RATE_LIMIT_ENABLED: "false" } as Env;
    const request = () =>
      new Request(`${ORIGIN}/v1/images/generations`, {
        method: "POST",
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
        body: JSON.stringify({ prompt: "a red circle", seed: uniqueSeed() }),
      });
    const first = await app.fetch(request(), off, createExecutionContext());
    expect(first.status).toBe(200);
    const second = await app.fetch(request(), off, createExecutionContext());
    expect(second.status).toBe(429);
    expect((await errorOf(second)).message).not.toMatch(/at this location/);
  });

  it("charges by cost: one request over the burst is refused without reaching the pool", async () => {
    const key = await newApiKey({ burst: 16, rate_per_minute: 60 });
    const res = await generate({ prompt: "a red circle", n: 2, size: "1024x1024" }, key);
    expect(res.status).toBe(429);
    expect((await errorOf(res)).message).toMatch(/costs 32 units/);
    expect(pool.calls).toHaveLength(0);
  });
});
