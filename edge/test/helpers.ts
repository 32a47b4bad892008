// Shared pieces of the edge's Worker tests: API keys seeded in the real KV, and requests.
import { SELF } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { type OpenAiError, sha256Hex } from "@unclip/shared";

export const DEV_KEY = "sk-local-dev";
export const ORIGIN = "https://edge.test";

let counter = 0;
/** A fresh API key (own token bucket) stored as its hash, as production stores them. */
export async function newApiKey(
  policy: { burst?: number; rate_per_minute?: number; daily_quota?: number } = {},
): Promise<string> {
  const key = `sk-test-${Date.now().toString(36)}-${counter++}-${Math.random().toString(36).slice(2)}`;
  await env.API_KEYS.put(await sha256Hex(key), JSON.stringify({ name: "test key", ...policy }));
  return key;
}

export function postJson(path: string, body: unknown, apiKey: string | null = DEV_KEY) {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (apiKey) headers.authorization = `Bearer ${apiKey}`;
  return SELF.fetch(`${ORIGIN}${path}`, {
    method: "POST",
    headers,
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

export function generate(body: Record<string, unknown>, apiKey: string | null = DEV_KEY) {
  return postJson("/v1/images/generations", body, apiKey);
}

/** A seed no other test uses, so the cache key is fresh (with the fixture's word-level
 *  tokenizer, unknown words all map to [UNK], so prompts alone don't separate keys). */
export function uniqueSeed(): number {
  return Math.floor(Math.random() * 4_000_000_000);
}

/** The OpenAI error object of a failed answer. */
export async function errorOf(res: Response): Promise<OpenAiError["error"]> {
  return ((await res.json()) as OpenAiError).error;
}

/**
 * The real local bucket, counting what the code under test asks of it: every lookup (`get` or
 * `head`, found or not) and the objects `get` read back. The env to hand that code comes with it.
 */
export function countingBucket(): { env: Env; lookups: () => number; objectsRead: () => number } {
  let lookups = 0;
  let read = 0;
  const images = new Proxy(env.IMAGES, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target);
      if (typeof value !== "function") return value;
      if (prop !== "get" && prop !== "head") return value.bind(target);
      return async (...args: unknown[]) => {
        lookups++;
        const found = await value.apply(target, args);
        if (prop === "get" && found) read++;
        return found;
      };
    },
  });
  return {
    env: { ...env, IMAGES: images } as Env,
    lookups: () => lookups,
    objectsRead: () => read,
  };
}
