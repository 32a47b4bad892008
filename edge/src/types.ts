// The Hono environment of the edge: bindings from wrangler (generated `Env`) and per-request
// values that middleware and routes hand to each other through `c.set` / `c.get`.
import type { BucketOutcome } from "./durable/rateLimiter.ts";
import type { ApiKey } from "./middleware/auth/index.ts";

/** What a route charged the key's bucket, for the rate-limit middleware on the way out. */
export type RequestCharge =
  | { cost: number; outcome: BucketOutcome }
  /** The charge was refused or failed: the 429 carries its own headers. */
  | "denied";

export interface AppEnv {
  Bindings: Env;
  Variables: {
    apiKey: ApiKey;
    /** The request body, read once under the size limit by the body middleware. */
    bodyBytes: Uint8Array;
    /** Set by `chargeRequest` (middleware/ratelimit); absent when the route charged nothing. */
    charge: RequestCharge;
  };
}
