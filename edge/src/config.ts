// Configuration parsed once per isolate by one zod schema; a bad setup answers 500 with a
// message naming every invalid variable instead of failing somewhere deep in a request.
import { z } from "zod";
import { ApiError } from "./errors.ts";

const positiveInt = (fallback: number) =>
  z.coerce.number().int("must be an integer").positive("must be positive").default(fallback);

const commaList = z
  .string()
  .default("")
  .transform((s) =>
    s
      .split(",")
      .map((item) => item.trim())
      .filter((item) => item.length > 0),
  );

/** "*", an origin ("https://app.example.com", "http://127.0.0.1:5173"), or any port of a host
 *  ("http://localhost:*"); browsers send origins in lowercase ASCII, so matching is exact. */
const corsOriginPattern = z
  .string()
  .transform((s) => s.toLowerCase())
  .pipe(
    z
      .string()
      .regex(
        /^(\*|https?:\/\/(\[[0-9a-f:.]+\]|[a-z0-9.-]+)(:([0-9]{1,5}|\*))?)$/,
        'must be "*" or origins like "https://app.example.com" or "http://localhost:*", without a path',
      ),
  );

export const edgeConfigSchema = z.object({
  POOL_URL: commaList.pipe(
    z
      .array(z.url({ protocol: /^https?$/, error: "must be http(s) URLs" }))
      .min(1, "must list at least one runner URL"),
  ),
  POOL_SECRET: z.string({ error: "is not set" }).min(1, "must not be empty"),
  POOL_TIMEOUT_MS: positiveInt(120_000),
  POOL_MAX_ATTEMPTS: positiveInt(4),
  DEV_API_KEY_SHA256: z
    .string()
    .regex(/^[0-9a-f]{64}$/, "must be a lowercase hex sha256")
    .optional()
    .or(z.literal("").transform(() => undefined)),
  RATE_LIMIT_UNITS_PER_MINUTE: positiveInt(120),
  RATE_LIMIT_BURST_UNITS: positiveInt(160),
  // The per-location first line (the EDGE_RATE_LIMIT binding). Its limit lives in
  // wrangler.toml and can't be raised per run, so load tests and benchmarks of the local
  // stack turn it off here; the exact per-key token bucket still applies.
  EDGE_RATE_LIMIT_ENABLED: z
    .enum(["true", "false"], { error: 'must be "true" or "false"' })
    .default("true")
    .transform((v) => v === "true"),
  BLOCKED_TERMS: commaList,
  // Browser origins granted CORS (middleware/cors); empty: none (see edge/README.md).
  CORS_ALLOWED_ORIGINS: commaList.pipe(z.array(corsOriginPattern)),
  // Signs the expiring image URLs (storage/signedUrl.ts): a secret in production.
  IMAGE_URL_SECRET: z
    .string({ error: "is not set" })
    .min(16, "must be at least 16 characters (a secret that signs image URLs)"),
  // During a rotation only: the secret IMAGE_URL_SECRET replaced. URLs signed with it stay
  // valid until they expire (infra/DEPLOY.md, "Rotating the secrets"); new ones never use it.
  IMAGE_URL_SECRET_PREVIOUS: z
    .string()
    .min(16, "must be at least 16 characters (the previous IMAGE_URL_SECRET)")
    .optional()
    .or(z.literal("").transform(() => undefined)),
  IMAGE_URL_TTL_SECONDS: positiveInt(3600),
});

export type EdgeConfig = z.infer<typeof edgeConfigSchema>;

const parsedConfigs = new WeakMap<object, EdgeConfig>();

export function configOf(env: Env): EdgeConfig {
  const cached = parsedConfigs.get(env);
  if (cached) return cached;
  const result = edgeConfigSchema.safeParse(env);
  if (!result.success) {
    const problems = result.error.issues
      .map((issue) => `${issue.path.join(".")} ${issue.message}`)
      .join("; ");
    console.error(`edge: invalid configuration: ${problems}`);
    throw new ApiError(
      500,
      `The server is misconfigured: ${problems}`,
      null,
      "server_misconfigured",
    );
  }
  parsedConfigs.set(env, result.data);
  return result.data;
}
