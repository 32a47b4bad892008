// CORS for browser clients on the origins in CORS_ALLOWED_ORIGINS: preflights are answered
// here, and every answer to an allowed origin (errors included) carries the grant and exposes
// the headers clients read. A disallowed origin gets no Access-Control-* header at all, so
// the browser withholds the answer; the request itself is handled as any other.
import type { MiddlewareHandler } from "hono";
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
const ALLOWED_METHODS = "GET, HEAD, POST, OPTIONS";
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

export const cors: MiddlewareHandler<AppEnv> = async (c, next) => {
  const patterns = configOf(c.env).CORS_ALLOWED_ORIGINS;
  const grant = allowedOrigin(c.req.header("origin"), patterns);
  // The answer depends on Origin unless no origin or every origin is allowed; shared caches
  // (images are public) must not hand one origin's answer to another.
  const varies = patterns.length > 0 && !patterns.includes("*");
  const preflight =
    c.req.method === "OPTIONS" && c.req.header("access-control-request-method") !== undefined;
  if (grant && preflight) {
    const headers = new Headers({
      "access-control-allow-origin": grant,
      "access-control-allow-methods": ALLOWED_METHODS,
      "access-control-max-age": String(PREFLIGHT_MAX_AGE_SECONDS),
      vary: "Origin, Access-Control-Request-Headers",
    });
    // Whatever the page asks to send (authorization, content-type, the SDK's x-stainless-*):
    // keys are bearer tokens, never cookies, so allowing headers grants no ambient authority.
    const requested = c.req.header("access-control-request-headers");
    if (requested) headers.set("access-control-allow-headers", requested);
    return new Response(null, { status: 204, headers });
  }
  await next();
  if (!grant && !varies) return;
  // Rebuilt: answers passed through from fetch() or R2 have immutable headers.
  const res = new Response(c.res.body, c.res);
  if (grant) {
    res.headers.set("access-control-allow-origin", grant);
    res.headers.set("access-control-expose-headers", EXPOSED_HEADERS.join(", "));
  }
  if (varies) res.headers.append("vary", "Origin");
  c.res = res;
};
