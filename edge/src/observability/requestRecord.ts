// What the edge records about each request, in two forms from one record: a JSON log line
// (Workers Logs indexes the fields of a JSON line; `wrangler tail --format json` shows it) and
// one Workers Analytics Engine data point (queried with SQL: infra/DEPLOY.md, "Edge metrics").
// The key's sha256 prefix identifies a key here; the key itself is never logged.

/** How the images of a request were found. */
export type CacheOutcome =
  /** Every image was already stored: no pool call. */
  | "hit"
  /** This request's own job made them. */
  | "miss"
  /** It rode on the job another request started (single flight): `job` names that request. */
  | "joined";

/** What the pool call came to, for the edge-side alerts (null: no pool call). */
export type PoolOutcome = "ok" | "unreachable" | "signature_refused" | "failed";

export interface RequestRecord {
  requestId: string;
  method: string;
  /** The route's pattern (`/v1/images/:key/:file`), not the path: bounded cardinality. */
  route: string;
  status: number;
  /** First 16 hex characters of the key's sha256, or null before authentication. */
  keyId: string | null;
  cache: CacheOutcome | null;
  /** The request id of the job that made the images (its own on a miss, the leader's when joined). */
  job: string | null;
  /** The runner that answered (its origin), when this request's job reached one. */
  runner: string | null;
  pool: PoolOutcome | null;
  latencyMs: number;
  /** Rate-limit units charged (one 256×256 image each). */
  units: number;
  images: number;
  /** Cloudflare data center (request.cf.colo); "local" under Miniflare without cf data. */
  colo: string;
  /** The error code of a 4xx/5xx answer, if any. */
  error: string | null;
}

/**
 * The data point's columns, in order: the SQL in infra/DEPLOY.md and the edge alert rules
 * (infra/monitoring/edge-alerts.yaml) read them by these positions, and a test holds them to it.
 */
export const ANALYTICS_COLUMNS = {
  index1: "key_id",
  blob1: "route",
  blob2: "cache",
  blob3: "colo",
  blob4: "request_id",
  blob5: "pool",
  blob6: "runner",
  blob7: "method",
  blob8: "error",
  double1: "status",
  double2: "latency_ms",
  double3: "units",
  double4: "images",
} as const;

/** An Analytics Engine data point (structurally; infra/ tests read this module outside workerd). */
export interface RequestDataPoint {
  indexes: [string];
  blobs: string[];
  doubles: number[];
}

export function dataPointOf(record: RequestRecord): RequestDataPoint {
  return {
    // The index is Analytics Engine's sampling key: per key, so one busy key cannot starve
    // the others' points.
    indexes: [record.keyId ?? "anonymous"],
    blobs: [
      record.route,
      record.cache ?? "none",
      record.colo,
      record.requestId,
      record.pool ?? "none",
      record.runner ?? "",
      record.method,
      record.error ?? "",
    ],
    doubles: [record.status, record.latencyMs, record.units, record.images],
  };
}

/** One JSON line: `{time, level, msg: "request", request_id, …}`. */
export function logLineOf(record: RequestRecord): string {
  return JSON.stringify({
    time: new Date().toISOString(),
    level: record.status >= 500 ? "error" : record.status >= 400 ? "warn" : "info",
    msg: "request",
    request_id: record.requestId,
    method: record.method,
    route: record.route,
    status: record.status,
    key_id: record.keyId,
    cache: record.cache,
    job: record.job,
    runner: record.runner,
    pool: record.pool,
    latency_ms: record.latencyMs,
    units: record.units,
    images: record.images,
    colo: record.colo,
    error: record.error,
  });
}
