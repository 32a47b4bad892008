// The Hono environment of the edge: bindings from wrangler (generated `Env`) and per-request
// values that middleware and routes hand to each other through `c.set` / `c.get`.
import type { BucketOutcome } from "./durable/rateLimiter.ts";
import type { ApiKey } from "./middleware/auth/index.ts";
import type { RenderRecord } from "./observability/middleware.ts";

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
    /** The request's id (`x-request-id`), set first by observability/middleware.ts. */
    requestId: string;
    /** What the image service found: cache outcome, the job and runner that made the images. */
    render: RenderRecord;
    /** The error code of an error answer (errors.ts), for the request's log line. */
    errorCode: string;
  };
}
