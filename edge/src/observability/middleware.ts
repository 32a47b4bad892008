// The first middleware of the app: gives every request its id (the client's well-formed
// `x-request-id`, else a new one), puts it on every answer (errors, 404s, preflights and
// image GETs included), and when the answer is made writes the request's one JSON log line
// and its Analytics Engine data point.
import { REQUEST_ID_HEADER, requestIdFrom } from "@unclip/shared";
import type { Context, MiddlewareHandler } from "hono";
import { openApiPathOf } from "../http/endpoint.ts";
import type { AppEnv } from "../types.ts";
import { dataPointOf, logLineOf, type PoolOutcome, type RequestRecord } from "./requestRecord.ts";

/** What the image service found out about a request (http/imageRequest.ts sets it). */
export interface RenderRecord {
  cache: RequestRecord["cache"];
  job: string | null;
  runner: string | null;
  pool: PoolOutcome | null;
  images: number;
}

/** The pool outcome an edge error code stands for (pool/client.ts's codes). */
export function poolOutcomeOfError(code: string | null | undefined): PoolOutcome | null {
  switch (code) {
    case "pool_unavailable":
      return "unreachable";
    case "pool_misconfigured":
      return "signature_refused";
    case "bad_pool_response":
      return "failed";
    default:
      return null;
  }
}

function recordOf(c: Context<AppEnv>, requestId: string, startedAt: number): RequestRecord {
  const render = c.get("render");
  const charge = c.get("charge");
  const apiKey = c.get("apiKey");
  const route =
    c.req.routePath && c.req.routePath !== "*" ? openApiPathOf(c.req.routePath) : "unmatched";
  const cf = (c.req.raw as { cf?: { colo?: string } }).cf;
  const error = c.get("errorCode") ?? null;
  return {
    requestId,
    method: c.req.method,
    route,
    status: c.res.status,
    keyId: apiKey ? apiKey.hash.slice(0, 16) : null,
    cache: render?.cache ?? null,
    job: render?.job ?? null,
    runner: render?.runner ?? null,
    pool: render?.pool ?? poolOutcomeOfError(error),
    latencyMs: Date.now() - startedAt,
    units: charge && charge !== "denied" ? charge.cost : 0,
    images: render?.images ?? 0,
    colo: cf?.colo ?? "local",
    error,
  };
}

export const observeRequest: MiddlewareHandler<AppEnv> = async (c, next) => {
  const startedAt = Date.now();
  const requestId = requestIdFrom(c.req.header(REQUEST_ID_HEADER));
  c.set("requestId", requestId);
  await next();
  c.header(REQUEST_ID_HEADER, requestId);
  const record = recordOf(c, requestId, startedAt);
  console.log(logLineOf(record));
  // Optional: a Worker deployed without the binding still serves.
  c.env.REQUEST_METRICS?.writeDataPoint(dataPointOf(record));
};
