// The Hono environment of the edge: bindings from wrangler (generated `Env`) and per-request
// values that middleware hands to routes.
import type { ApiKey } from "./middleware/auth/index.ts";

export interface AppEnv {
  Bindings: Env;
  Variables: {
    apiKey: ApiKey;
    /** The request body, read once under the size limit by the body middleware. */
    bodyBytes: Uint8Array;
  };
}
