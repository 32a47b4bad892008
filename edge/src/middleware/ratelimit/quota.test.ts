// A key's daily quota on the API: a clear 429 once it is used up, checked with the bucket.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { errorOf, generate, newApiKey, uniqueSeed } from "../../../test/helpers.ts";
import { FakePool } from "../../../test/pool.ts";

describe("daily quota", () => {
  let pool: FakePool;
  beforeEach(() => {
    pool = new FakePool().install();
  });
  afterEach(() => pool.restore());

  it("answers 429 insufficient_quota, saying how much was used and when it starts over", async () => {
    const key = await newApiKey({ burst: 100, rate_per_minute: 60, daily_quota: 5 });
    const first = await generate(
      { prompt: "a red circle", size: "512x512", seed: uniqueSeed() },
      key,
    );
    expect(first.status).toBe(200);
    const over = await generate(
      { prompt: "a red circle", size: "512x512", seed: uniqueSeed() },
      key,
    );
    expect(over.status).toBe(429);
    const error = await errorOf(over);
    expect(error.code).toBe("insufficient_quota");
    expect(error.message).toMatch(
      /Daily quota reached for this key: 4 of 5 units used today \(UTC\), and this request costs 4\. The quota starts over at 00:00 UTC/,
    );
    const retryAfter = Number(over.headers.get("retry-after"));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(86_400);
    // The bucket itself was not drawn: the quota answered first.
    expect(over.headers.get("x-ratelimit-remaining-requests")).toBe("96");
    expect(pool.calls).toHaveLength(1);
    // A request that still fits goes through.
    const small = await generate({ prompt: "a red circle", seed: uniqueSeed() }, key);
    expect(small.status).toBe(200);
  });

  it("lets concurrent requests through only up to the quota", async () => {
    const key = await newApiKey({ burst: 100, rate_per_minute: 60, daily_quota: 3 });
    const statuses = await Promise.all(
      Array.from({ length: 8 }, () =>
        generate({ prompt: "a red circle", seed: uniqueSeed() }, key).then((r) => r.status),
      ),
    );
    expect(statuses.filter((s) => s === 200)).toHaveLength(3);
    expect(statuses.filter((s) => s === 429)).toHaveLength(5);
  });
});
