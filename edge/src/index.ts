// Worker entry: the Hono app, the synthetic probe on the cron trigger, and the Durable Object
// classes wrangler.toml binds.
import { app } from "./app.ts";
import { configOf } from "./config.ts";
import { runProbe } from "./probe/index.ts";

export { app } from "./app.ts";
export { GenerationFlight } from "./durable/generationFlight.ts";
export { JobStore } from "./durable/jobStore.ts";
export { RateLimiter } from "./durable/rateLimiter.ts";

export default {
  fetch: app.fetch,
  /** wrangler.toml `[triggers] crons`: the probe (infra/RUNBOOK.md, EdgeProbeFailing). */
  scheduled(_controller, env, ctx) {
    ctx.waitUntil(runProbe(env, configOf(env).PROBE_EXPECTED_SHA256));
  },
} satisfies ExportedHandler<Env>;
