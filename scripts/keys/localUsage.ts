// Usage per key from the local state that `npm start` persists: the RateLimiter Durable
// Object's own storage, opened by a Miniflare Worker that carries the same class (taken from
// the Worker the stack built into that state) under the same Worker name (wrangler.toml's),
// so it is the same object and the same SQLite file. It only reads.
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { type DailyUsage, dailyUsageSchema } from "@unclip/shared";
import { openLocalState } from "../edge/localState.ts";
import { builtWasmModules } from "../edge/miniflare.ts";
import { REPO_ROOT } from "../stack.ts";
import type { UsageReader } from "./usage.ts";

/**
 * wrangler.toml's local Worker name, which keys Durable Object storage. A constant for the
 * same reason as LOCAL_API_KEYS_NAMESPACE_ID; tests/keys.test.ts checks it against wrangler.toml.
 */
export const LOCAL_WORKER_NAME = "unclip-edge-dev";

/** Reads (never writes) a key's usage: the Worker answers GET /usage?key=<sha256>&days=N. */
const READER = `
export { RateLimiter } from "./index.js";
export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const stub = env.RATE_LIMITER.get(env.RATE_LIMITER.idFromName(url.searchParams.get("key")));
    return Response.json(await stub.usage(Number(url.searchParams.get("days"))));
  },
};`;

/** The local state cannot answer (nothing was built or served there). */
export class UsageUnavailable extends Error {}

export async function openLocalUsage(stateDir: string): Promise<UsageReader> {
  const state = resolve(REPO_ROOT, stateDir);
  // scripts/edge/build.ts's output: the Worker `npm start` served from this state.
  const builtWorker = resolve(state, "edge-build", "index.js");
  if (!existsSync(builtWorker)) {
    throw new UsageUnavailable(
      `${stateDir} holds no built Worker, so no usage either: \`npm start\` builds it (with --state ${stateDir}) and counts requests from then on`,
    );
  }
  const miniflare = openLocalState(stateDir, {
    name: LOCAL_WORKER_NAME,
    compatibilityDate: "2026-08-01",
    modulesRoot: resolve(builtWorker, ".."),
    modules: [
      { type: "ESModule", path: resolve(builtWorker, "../usage-reader.js"), contents: READER },
      { type: "ESModule", path: builtWorker },
      ...builtWasmModules(builtWorker),
    ],
    durableObjects: { RATE_LIMITER: { className: "RateLimiter", useSQLite: true } },
  });
  return {
    async usage(keyHash, days) {
      const query = new URLSearchParams({ key: keyHash, days: String(days) });
      const res = await miniflare.dispatchFetch(`http://usage.local/usage?${query}`);
      if (!res.ok) throw new Error(`reading usage failed: ${res.status} ${await res.text()}`);
      return dailyUsageSchema.array().parse(await res.json()) satisfies DailyUsage[];
    },
    close: () => miniflare.dispose(),
  };
}
