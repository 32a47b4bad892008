// RateLimiter: one exact token bucket per API key. `take` runs synchronously against the
// object's synchronous KV storage, so concurrent requests are serialized and never overdraw.
import { DurableObject } from "cloudflare:workers";

export interface BucketPolicy {
  /** Refill, in units per minute. */
  ratePerMinute: number;
  /** Capacity, in units. */
  burst: number;
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
  /** Takes `cost` units if available (cost 0 just reports the bucket). */
  take(cost: number, policy: BucketPolicy): BucketOutcome {
    return this.#update((state, now) => drawFromBucket(state, cost, policy, now));
  }

  refund(units: number, policy: BucketPolicy): BucketOutcome {
    return this.#update((state, now) => refundToBucket(state, units, policy, now));
  }

  /** Read, step and write the bucket with no await in between, so concurrent calls can't interleave. */
  #update(
    step: (
      state: BucketState | undefined,
      now: number,
    ) => { outcome: BucketOutcome; state: BucketState },
  ): BucketOutcome {
    const kv = this.ctx.storage.kv;
    const { outcome, state } = step(kv.get<BucketState>("bucket"), Date.now());
    kv.put("bucket", state);
    return outcome;
  }
}
