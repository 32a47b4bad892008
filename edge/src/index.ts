// Worker entry: the Hono app and the Durable Object classes wrangler.toml binds.
import { app } from "./app.ts";

export { app } from "./app.ts";
export { GenerationFlight } from "./durable/generationFlight.ts";
export { JobStore } from "./durable/jobStore.ts";
export { RateLimiter } from "./durable/rateLimiter.ts";

export default {
  fetch: app.fetch,
} satisfies ExportedHandler<Env>;
