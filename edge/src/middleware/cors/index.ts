// CORS for browser clients on the origins in CORS_ALLOWED_ORIGINS, through hono/cors:
// preflights are answered here, and every answer to an allowed origin (errors included)
// carries the grant and exposes the headers clients read. A disallowed origin gets no
// Access-Control-* header at all, so the browser withholds the answer; the request itself
// is handled as any other.
import type { Context, MiddlewareHandler } from "hono";
import { cors as honoCors } from "hono/cors";
import { configOf } from "../../config.ts";
import type { AppEnv } from "../../types.ts";

/** What a browser page may read: rate limits, retry timing, cache outcome, job location. */
export const EXPOSED_HEADERS = [
  "retry-after",
  "x-ratelimit-limit-requests",
  "x-ratelimit-remaining-requests",
  "x-ratelimit-reset-requests",
  "x-unclip-cache",
  "x-unclip-cache-key",
  "location",
  "etag",
];
const ALLOWED_METHODS = ["GET", "HEAD", "POST", "OPTIONS"];
/** Browsers cache a preflight this long (Chromium caps it at 2 hours). */
const PREFLIGHT_MAX_AGE_SECONDS = 600;

/** The origin to echo in Access-Control-Allow-Origin, "*", or null for no grant. */
export function allowedOrigin(origin: string | undefined, patterns: string[]): string | null {
  if (!origin) return null;
  for (const pattern of patterns) {
    if (pattern === "*") return "*";
    if (pattern === origin) return origin;
    // "http://localhost:*": the same scheme and host, any explicit port.
    if (pattern.endsWith(":*") && origin.startsWith(pattern.slice(0, -1))) {
      if (/^[0-9]{1,5}$/.test(origin.slice(pattern.length - 1))) return origin;
    }
  }
  return null;
}

/** Hono's CORS middleware, for origins `allowedOrigin` grants (see `cors` below for the rest). */
const grantCors = honoCors({
  origin: (origin, c: Context<AppEnv>) =>
    allowedOrigin(origin || undefined, configOf(c.env).CORS_ALLOWED_ORIGINS),
  allowMethods: ALLOWED_METHODS,
  exposeHeaders: EXPOSED_HEADERS,
  maxAge: PREFLIGHT_MAX_AGE_SECONDS,
  // No allowHeaders: whatever the page asks to send (authorization, content-type, the SDK's
  // x-stainless-*) is allowed. Keys are bearer tokens, never cookies, so allowing headers
  // grants no ambient authority.
});

/**
 * hono/cors for granted origins. Ours decides who is granted (`allowedOrigin`: exact origins
 * and "any port of this host") and keeps disallowed origins out of hono/cors entirely,
 * because hono/cors answers every OPTIONS with 204 + Access-Control-Allow-Methods and sets
 * Access-Control-Expose-Headers whatever the origin: a disallowed origin must get no
 * Access-Control-* header at all, and its preflight goes on to the routes (405).
 */
export const cors: MiddlewareHandler<AppEnv> = async (c, next) => {
  const patterns = configOf(c.env).CORS_ALLOWED_ORIGINS;
  if (allowedOrigin(c.req.header("origin"), patterns)) return grantCors(c, next);
  await next();
  // The answer depends on Origin unless no origin or every origin is allowed; shared caches
  // (images are public) must not hand one origin's answer to another.
  if (patterns.length > 0 && !patterns.includes("*")) c.header("vary", "Origin", { append: true });
};
