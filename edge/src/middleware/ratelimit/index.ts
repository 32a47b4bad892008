// Per-key rate limiting: the Workers Rate Limiting binding as a cheap per-location first line
// on request count, then the exact RateLimiter token bucket charged by image cost.
// Every authenticated answer carries the x-ratelimit-* headers.
import { sideOf } from "@unclip/shared";
import type { Context, MiddlewareHandler } from "hono";
import { configOf } from "../../config.ts";
import type { BucketOutcome, BucketPolicy } from "../../durable/rateLimiter.ts";
import { ApiError } from "../../errors.ts";
import type { AppEnv } from "../../types.ts";
import type { ApiKey } from "../auth/index.ts";

/** One unit is one 256×256 image; ten 1024² images cost 160 units. */
export function costOf(images: number, size: string): number {
  const side = sideOf(size);
  return (images * side * side) / (256 * 256);
}

export function policyFor(apiKey: ApiKey, env: Env): BucketPolicy {
  const config = configOf(env);
  return {
    ratePerMinute: apiKey.rate_per_minute ?? config.RATE_LIMIT_UNITS_PER_MINUTE,
    burst: apiKey.burst ?? config.RATE_LIMIT_BURST_UNITS,
  };
}

/** Takes `cost` units from the key's bucket; throws the 429 when they are not there. */
export async function chargeApiKey(apiKey: ApiKey, cost: number, env: Env): Promise<BucketOutcome> {
  const bucket = env.RATE_LIMITER.get(env.RATE_LIMITER.idFromName(apiKey.hash));
  const policy = policyFor(apiKey, env);
  const outcome = await bucket.take(cost, policy);
  if (!outcome.allowed) {
    const tooBig = cost > policy.burst;
    throw new ApiError(
      429,
      tooBig
        ? `This request costs ${cost} units (images × pixels / 256²), more than this key's burst of ${policy.burst}. Ask for fewer or smaller images.`
        : `Rate limit reached for this key: this request costs ${cost} units and ${outcome.remaining} are left. Retry after ${Math.ceil(outcome.retryAfterMs / 1000)} s.`,
      null,
      "rate_limit_exceeded",
      { ...rateLimitHeaders(outcome), "retry-after": String(retryAfterSeconds(outcome)) },
    );
  }
  return outcome;
}

function retryAfterSeconds(outcome: BucketOutcome): number {
  return Math.max(1, Math.ceil(outcome.retryAfterMs / 1000));
}

export function rateLimitHeaders(outcome: BucketOutcome): Record<string, string> {
  return {
    "x-ratelimit-limit-requests": String(outcome.limit),
    "x-ratelimit-remaining-requests": String(outcome.remaining),
    "x-ratelimit-reset-requests": `${Math.ceil(outcome.resetMs / 1000)}s`,
  };
}

/** Charges the request's cost (call it after validation, once the cost is known). */
export async function chargeRequest(c: Context<AppEnv>, cost: number): Promise<void> {
  c.set("charge", "denied"); // a 429 carries its own headers; stays so if the charge throws
  c.set("charge", { cost, outcome: await chargeApiKey(c.get("apiKey"), cost, c.env) });
}

/**
 * After auth: the cheap binding check before any work, and the x-ratelimit-* headers on the
 * way out (a route that charged nothing, or failed before charging, reports the bucket as is).
 */
export const rateLimit: MiddlewareHandler<AppEnv> = async (c, next) => {
  const apiKey = c.get("apiKey");
  const firstLine = configOf(c.env).EDGE_RATE_LIMIT_ENABLED
    ? await c.env.EDGE_RATE_LIMIT.limit({ key: apiKey.hash })
    : { success: true };
  if (!firstLine.success) {
    const bucket = await chargeApiKey(apiKey, 0, c.env);
    throw new ApiError(
      429,
      "Too many requests for this key at this location. Retry in a few seconds.",
      null,
      "rate_limit_exceeded",
      { ...rateLimitHeaders(bucket), "retry-after": "10" },
    );
  }
  await next();
  const charged = c.get("charge");
  if (charged === "denied") return;
  let outcome: BucketOutcome;
  if (charged && c.res.status >= 500) {
    // The server failed the request (pool down, timeout): the key gets its units back.
    const bucket = c.env.RATE_LIMITER.get(c.env.RATE_LIMITER.idFromName(apiKey.hash));
    outcome = await bucket.refund(charged.cost, policyFor(apiKey, c.env));
  } else {
    outcome = charged?.outcome ?? (await chargeApiKey(apiKey, 0, c.env));
  }
  // c.header rebuilds answers passed through from fetch(), whose headers are immutable.
  for (const [name, value] of Object.entries(rateLimitHeaders(outcome))) c.header(name, value);
};
