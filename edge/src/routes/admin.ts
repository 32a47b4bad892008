// GET /v1/admin/usage?key=<sha256>&days=N: a key's usage per UTC day, exactly as its RateLimiter
// counted it (`npm run keys -- usage --env …` reads it here). Only for the admin token whose
// sha256 is ADMIN_TOKEN_SHA256; without that secret the route does not exist (404).
import { keyUsageResponseSchema, sha256Hex } from "@unclip/shared";
import type { MiddlewareHandler } from "hono";
import { z } from "zod";
import { configOf } from "../config.ts";
import { ApiError } from "../errors.ts";
import { endpoint } from "../http/endpoint.ts";
import { errorResponses, jsonResponse } from "../http/openapi.ts";
import type { AppEnv } from "../types.ts";

const usageQuerySchema = z.object({
  key: z.string().regex(/^[0-9a-f]{64}$/, "must be the key's sha256, lowercase hex"),
  days: z.coerce.number().int().min(1).max(100).default(1),
});

/** Compares sha256 hashes of the bearer token and of the configured admin token. */
const requireAdmin: MiddlewareHandler<AppEnv> = async (c, next) => {
  const expected = configOf(c.env).ADMIN_TOKEN_SHA256;
  if (!expected) {
    throw new ApiError(404, `Unknown route: ${c.req.method} ${c.req.path}.`, null, "not_found");
  }
  const token = /^Bearer\s+(\S+)\s*$/i.exec(c.req.header("authorization") ?? "")?.[1];
  if (!token || (await sha256Hex(token)) !== expected) {
    throw new ApiError(401, "This route needs the admin token.", null, "invalid_api_key");
  }
  await next();
};

export const adminUsage = endpoint(
  "get",
  "/v1/admin/usage",
  {
    summary: "A key's usage per UTC day (admin token only; absent without ADMIN_TOKEN_SHA256)",
    security: [{ bearer: [] }],
    request: { query: usageQuerySchema },
    responses: {
      200: jsonResponse(keyUsageResponseSchema, "Units and requests per day, today first"),
      400: errorResponses[400],
      401: errorResponses[401],
      404: errorResponses[404],
    },
  },
  requireAdmin,
  async (c) => {
    const query = usageQuerySchema.safeParse(c.req.query());
    if (!query.success) throw ApiError.fromZod(query.error);
    const { key, days } = query.data;
    const limiter = c.env.RATE_LIMITER.get(c.env.RATE_LIMITER.idFromName(key));
    return c.json({ object: "list" as const, key, data: await limiter.usage(days) });
  },
);
