// Bearer-key authentication: keys are stored only as sha256 hashes in the API_KEYS KV
// namespace (value: JSON {name, rate_per_minute?, burst?}); the local environment also
// accepts the documented development key through DEV_API_KEY_SHA256.
import { type ApiKeyRecord, apiKeyRecordSchema, sha256Hex } from "@unclip/shared";
import type { MiddlewareHandler } from "hono";
import { configOf } from "../../config.ts";
import { ApiError } from "../../errors.ts";
import { logEvent } from "../../observability/log.ts";
import type { AppEnv } from "../../types.ts";

export interface ApiKey extends ApiKeyRecord {
  /** sha256 of the bearer key: the only form in which the key is stored or used as an id. */
  hash: string;
}

const invalidKey = (message: string) => new ApiError(401, message, null, "invalid_api_key");

/** The key a bearer token belongs to, or a 401 ApiError. */
export async function authenticate(authorization: string | undefined, env: Env): Promise<ApiKey> {
  if (!authorization) {
    throw invalidKey("You didn't provide an API key. Send it as 'Authorization: Bearer <key>'.");
  }
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
  if (!match) throw invalidKey("The Authorization header must be 'Bearer <key>'.");
  const hash = await sha256Hex(match[1]);
  const config = configOf(env);
  if (config.DEV_API_KEY_SHA256 && hash === config.DEV_API_KEY_SHA256) {
    return { hash, name: "local development key" };
  }
  const stored = await env.API_KEYS.get(hash);
  const record = apiKeyRecordSchema.safeParse(parseRecord(stored));
  if (stored === null || !record.success) {
    if (stored !== null)
      logEvent("error", "malformed API_KEYS record", { key_id: hash.slice(0, 16) });
    throw invalidKey("Incorrect API key provided.");
  }
  return { hash, ...record.data };
}

export const requireApiKey: MiddlewareHandler<AppEnv> = async (c, next) => {
  c.set("apiKey", await authenticate(c.req.header("authorization"), c.env));
  await next();
};

function parseRecord(stored: string | null): unknown {
  if (stored === null) return null;
  try {
    return JSON.parse(stored);
  } catch {
    return undefined;
  }
}
