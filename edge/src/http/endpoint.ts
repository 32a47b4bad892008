// Each route of the edge is declared once, as an `Endpoint`: its method, its Hono path, its
// OpenAPI description and its handlers. app.ts mounts the list on Hono, Hono's
// method-not-allowed middleware derives the 405 answers from those same routes, and
// /openapi.json (http/openapi.ts) describes the same list.
import type { RouteConfig } from "@hono/zod-openapi";
import type { Hono } from "hono";
import type { H } from "hono/types";
import type { AppEnv } from "../types.ts";

/** What OpenAPI says about a route beyond its method and path (summary, request, responses). */
export type EndpointDoc = Omit<RouteConfig, "method" | "path">;

export interface Endpoint {
  method: "get" | "post";
  /** The Hono path, with the pattern each parameter must match: `/v1/jobs/:id{job_[0-9a-f]{32}}`. */
  path: string;
  doc: EndpointDoc;
  /** Middleware, then the handler. */
  handlers: readonly H<AppEnv>[];
}

export function endpoint(
  method: Endpoint["method"],
  path: string,
  doc: EndpointDoc,
  ...handlers: H<AppEnv>[]
): Endpoint {
  return { method, path, doc, handlers };
}

/** `/v1/images/:key{[0-9a-f]{64}}/:file{…}` → `/v1/images/{key}/{file}` (OpenAPI's form). */
export function openApiPathOf(honoPath: string): string {
  return honoPath.replace(/:([A-Za-z_][A-Za-z0-9_]*)(\{(?:[^{}]|\{[^{}]*\})*\})?/g, "{$1}");
}

/** Registers every endpoint on the app (GET routes answer HEAD too, as Hono does). */
export function mountEndpoints(app: Hono<AppEnv>, endpoints: readonly Endpoint[]): void {
  for (const { method, path, handlers } of endpoints) {
    app.on(method.toUpperCase(), path, ...(handlers as [H<AppEnv>]));
  }
}
