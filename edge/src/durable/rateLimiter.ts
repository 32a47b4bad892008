// RateLimiter: one exact token bucket per API key, and the key's usage per UTC day. `take`
// runs synchronously against the object's synchronous KV storage, so concurrent requests are
// serialized: they never overdraw the bucket, and the daily count (and quota) moves in the
// same step as the bucket, so what was let through and what was counted cannot differ.

import { DurableObject } from "cloudflare:workers";
import type { DailyUsage } from "@unclip/shared";

export interface BucketPolicy {
  /** Refill, in units per minute. */
  ratePerMinute: number;
  /** Capacity, in units. */
  burst: number;
  /** Units this key may use per UTC day; absent: no quota. */
  dailyQuota?: number;
}

export interface BucketOutcome {
  allowed: boolean;
  /** Capacity of the bucket (x-ratelimit-limit-requests). */
  limit: number;
  /** Whole units left after this request (x-ratelimit-remaining-requests). */
  remaining: number;
  /** Milliseconds until the bucket is full again (x-ratelimit-reset-requests). */
  resetMs: number;
  /** When denied: milliseconds until the request's cost is available (retry-after). */
  retryAfterMs: number;
  /** Denied because the daily quota is used up (not the bucket): retry after UTC midnight. */
  quotaExceeded?: boolean;
  /** Units counted today (UTC), this request included when it was allowed. */
  usedToday?: number;
}

/** Days of usage kept per key: enough for a monthly bill and a quarter's trend. */
export const USAGE_RETENTION_DAYS = 100;
const USAGE_PREFIX = "usage:";

export function utcDayOf(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** Milliseconds from `now` to the next 00:00 UTC, when a daily quota starts over. */
export function msUntilNextUtcDay(now: number): number {
  const midnight = new Date(now);
  midnight.setUTCHours(24, 0, 0, 0);
  return midnight.getTime() - now;
}

/**
 * The daily quota in front of the bucket: a request over it is denied without touching the
 * bucket; an allowed request that costs something is added to the day's usage.
 */
export function takeWithQuota(
  bucket: BucketState | undefined,
  usage: DailyUsage,
  cost: number,
  policy: BucketPolicy,
  now: number,
): { outcome: BucketOutcome; bucket: BucketState; usage: DailyUsage } {
  if (policy.dailyQuota !== undefined && cost > 0 && usage.units + cost > policy.dailyQuota) {
    const report = drawFromBucket(bucket, 0, policy, now);
    return {
      outcome: {
        ...report.outcome,
        allowed: false,
        quotaExceeded: true,
        retryAfterMs: msUntilNextUtcDay(now),
        usedToday: usage.units,
      },
      bucket: report.state,
      usage,
    };
  }
  const { outcome, state } = drawFromBucket(bucket, cost, policy, now);
  const counted =
    outcome.allowed && cost > 0
      ? { ...usage, units: usage.units + cost, requests: usage.requests + 1 }
      : usage;
  return { outcome: { ...outcome, usedToday: counted.units }, bucket: state, usage: counted };
}

interface BucketState {
  tokens: number;
  updatedAt: number;
}

/** Pure token-bucket arithmetic, separate from storage so it can be tested directly. */
export function drawFromBucket(
  state: BucketState | undefined,
  cost: number,
  policy: BucketPolicy,
  now: number,
): { outcome: BucketOutcome; state: BucketState } {
  const perMs = policy.ratePerMinute / 60_000;
  const elapsed = state ? Math.max(0, now - state.updatedAt) : 0;
  const available = Math.min(policy.burst, (state?.tokens ?? policy.burst) + elapsed * perMs);
  const allowed = cost <= available;
  const tokens = allowed ? available - cost : available;
  const outcome: BucketOutcome = {
    allowed,
    limit: policy.burst,
    remaining: Math.max(0, Math.floor(tokens + 1e-9)),
    resetMs: Math.ceil((policy.burst - tokens) / perMs),
    retryAfterMs: allowed ? 0 : Math.ceil((Math.min(cost, policy.burst) - tokens) / perMs),
  };
  return { outcome, state: { tokens, updatedAt: now } };
}

/** Returns units taken for a request the server then failed (never above the burst). */
export function refundToBucket(
  state: BucketState | undefined,
  units: number,
  policy: BucketPolicy,
  now: number,
): { outcome: BucketOutcome; state: BucketState } {
  const current = drawFromBucket(state, 0, policy, now).state;
  return drawFromBucket(
    { tokens: Math.min(policy.burst, current.tokens + units), updatedAt: now },
    0,
    policy,
    now,
  );
}

export class RateLimiter extends DurableObject<Env> {
  /**
   * Takes `cost` units if the bucket has them and the daily quota allows (cost 0 just reports
   * the bucket), and counts them in today's usage. No await between the reads and the writes,
   * so concurrent calls can't interleave.
   */
  take(cost: number, policy: BucketPolicy): BucketOutcome {
    const kv = this.ctx.storage.kv;
    const now = Date.now();
    const today = this.#usageOn(utcDayOf(now));
    const { outcome, bucket, usage } = takeWithQuota(
      kv.get<BucketState>("bucket"),
      today,
      cost,
      policy,
      now,
    );
    kv.put("bucket", bucket);
    if (usage !== today) this.#putUsage(usage);
    return outcome;
  }

  /** Gives back the units of a request the server failed, in the bucket and in today's count. */
  refund(units: number, policy: BucketPolicy): BucketOutcome {
    const kv = this.ctx.storage.kv;
    const now = Date.now();
    const { outcome, state } = refundToBucket(kv.get<BucketState>("bucket"), units, policy, now);
    kv.put("bucket", state);
    const usage = this.#usageOn(utcDayOf(now));
    if (usage.requests > 0) {
      this.#putUsage({
        ...usage,
        units: Math.max(0, usage.units - units),
        requests: usage.requests - 1,
      });
    }
    return outcome;
  }

  /** The last `days` UTC days, today first; days without use are listed with 0. */
  usage(days: number): DailyUsage[] {
    const now = Date.now();
    return Array.from({ length: Math.max(1, Math.min(days, USAGE_RETENTION_DAYS)) }, (_, i) =>
      this.#usageOn(utcDayOf(now - i * 86_400_000)),
    );
  }

  #usageOn(day: string): DailyUsage {
    return (
      this.ctx.storage.kv.get<DailyUsage>(USAGE_PREFIX + day) ?? { day, units: 0, requests: 0 }
    );
  }

  /** Writes a day's count; the first write of a day also drops days past the retention. */
  #putUsage(usage: DailyUsage): void {
    const kv = this.ctx.storage.kv;
    const key = USAGE_PREFIX + usage.day;
    if (kv.get(key) === undefined) {
      const oldest = utcDayOf(Date.parse(usage.day) - (USAGE_RETENTION_DAYS - 1) * 86_400_000);
      for (const [old] of kv.list({ prefix: USAGE_PREFIX, end: USAGE_PREFIX + oldest })) {
        kv.delete(old);
      }
    }
    kv.put(key, usage);
  }
}
