// The pool's HTTP API (Contract 3, docs/ARCHITECTURE.md) on Hono: signed job routes that answer JSON or, with
// `accept: text/event-stream`, progress and partial-image events then the result; health, readiness, metrics.
// Routes are thin: they verify, parse and hand the job to the Runner. Every job path exists in
// the current and the previous protocol version, and each answer is worded in its request's.
import {
  imageCountOf,
  nativeResolutionOf,
  OPERATIONS,
  type Operation,
  openAiError,
  type PoolPartialImage,
  type PoolProgressEvent,
  type PoolRequest,
  PROTOCOL_VERSIONS,
  type ProtocolVersion,
  poolPathOf,
  poolRequestSchemas,
  poolResponseIn,
  ReplayGuard,
  sizesFor,
  verifyRequest,
} from "@unclip/shared";
import { type Context, Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { streamSSE } from "hono/streaming";
import { asRunnerError, RunnerError } from "./errors.ts";
import type { StageTiming } from "./jobTrace.ts";
import type { Runner } from "./runner.ts";

/**
 * One line per finished job, for the logs: the public request's id (`x-request-id`, from the
 * edge) and the edge's cache key to follow it across logs, and where its time went per stage.
 */
export interface JobLogEntry {
  msg: "job";
  /** The request that started this job at the edge (Contract 3 `request_id`). */
  request_id: string | null;
  operation: Operation;
  protocol: ProtocolVersion;
  /** The edge's cache key of the job (Contract 3 `cache_key`), to follow it across logs. */
  cache_key: string | null;
  bundle: string;
  images: number;
  status: number;
  error: string | null;
  duration_ms: number;
  /** Network calls the job had rows in, its rows, the largest call, their wall time. */
  stages: Record<string, StageTiming>;
}

export interface ServerOptions {
  /** Accepted HMAC secrets: the current one first, then during a rotation the previous one. */
  secrets: readonly string[];
  replayGuard?: ReplayGuard;
  /** Where finished jobs are reported (main.ts: one JSON line on stdout); none by default. */
  logJob?: (entry: JobLogEntry) => void;
}

/** Two 4 MB PNGs (an edit's image and mask) in base64 plus the JSON around them. */
const MAX_BODY_BYTES = 12 * 1024 * 1024;

export function createApp(runner: Runner, options: ServerOptions): Hono {
  const app = new Hono();
  const replayGuard = options.replayGuard ?? new ReplayGuard();
  /** Every failed request is counted here, whichever way it is answered. */
  const failed = (error: RunnerError) => runner.metrics.errors.inc({ kind: error.kind });
  const errorResponse = (c: Context, error: RunnerError) => {
    failed(error);
    if (error.retryAfterS !== undefined) c.header("retry-after", String(error.retryAfterS));
    return c.json(error.toOpenAi(), error.status);
  };

  app.onError((error, c) => {
    if (!(error instanceof RunnerError)) console.error("unexpected error:", error);
    return errorResponse(c, asRunnerError(error));
  });
  app.notFound((c) => c.json(openAiError(404, `No route ${c.req.method} ${c.req.path}`), 404));

  app.get("/healthz", (c) => c.json({ status: "ok" }));
  app.get("/readyz", (c) =>
    runner.ready
      ? c.json({ ready: true, bundle: runner.bundle.id })
      : c.json({ ready: false, draining: runner.isDraining }, 503),
  );
  app.get("/metrics", async (c) => {
    const { registry } = runner.metrics;
    return c.text(await registry.metrics(), 200, { "content-type": registry.contentType });
  });
  app.get("/v1/bundle", (c) => {
    const { manifest, id } = runner.bundle;
    return c.json({
      id,
      name: manifest.name,
      version: manifest.version,
      sizes: sizesFor(nativeResolutionOf(manifest)),
    });
  });

  // Bodies are read before the signature can be checked: bound them first.
  for (const version of PROTOCOL_VERSIONS) {
    app.use(
      `/v${version}/*`,
      bodyLimit({
        maxSize: MAX_BODY_BYTES,
        onError: (c) => {
          const message = `Request body over ${MAX_BODY_BYTES} bytes.`;
          failed(new RunnerError("bad_request", message)); // a bad request, answered as 413
          return c.json(openAiError(413, message), 413);
        },
      }),
    );
  }

  /** Verifies, parses and validates a job request: the one check before admission. */
  async function poolRequestOf(c: Context, operation: Operation): Promise<PoolRequest> {
    const body = await c.req.text();
    const url = new URL(c.req.url);
    const verdict = await verifyRequest(
      options.secrets,
      { method: "POST", path: url.pathname + url.search, body },
      c.req.raw.headers,
      { replayGuard },
    );
    if (!verdict.ok) {
      throw new RunnerError("unauthorized", `Request signature refused: ${verdict.reason}.`);
    }
    let json: unknown;
    try {
      json = JSON.parse(body);
    } catch {
      throw new RunnerError("bad_request", "The request body is not valid JSON.");
    }
    const parsed = poolRequestSchemas[operation].safeParse(json);
    if (!parsed.success) throw RunnerError.fromZod(parsed.error);
    return { operation, request: parsed.data } as PoolRequest;
  }

  const logJob = (
    job: PoolRequest,
    protocol: ProtocolVersion,
    started: number,
    stages: Record<string, StageTiming>,
    error?: RunnerError,
  ) =>
    options.logJob?.({
      msg: "job",
      request_id: job.request.request_id ?? null,
      operation: job.operation,
      protocol,
      cache_key: job.request.cache_key ?? null,
      bundle: job.request.bundle,
      images: imageCountOf(job),
      status: error?.status ?? 200,
      error: error?.kind ?? null,
      duration_ms: Math.round(performance.now() - started),
      stages,
    });

  for (const version of PROTOCOL_VERSIONS) {
    for (const operation of OPERATIONS) {
      app.post(poolPathOf(operation, version), async (c) => {
        const job = await poolRequestOf(c, operation);
        const started = performance.now();
        const admitted = runner.admit(job);
        let stages: Record<string, StageTiming> = {};
        const onStages = (timings: Record<string, StageTiming>) => {
          stages = timings;
        };
        const wantsStream = (c.req.header("accept") ?? "").includes("text/event-stream");
        if (!wantsStream) {
          try {
            const rendered = await runner.run(admitted, { signal: c.req.raw.signal, onStages });
            logJob(job, version, started, stages);
            return c.json(poolResponseIn(version, rendered));
          } catch (error) {
            logJob(job, version, started, stages, asRunnerError(error));
            throw error;
          }
        }
        return streamSSE(c, async (stream) => {
          const abort = new AbortController();
          stream.onAbort(() => abort.abort());
          c.req.raw.signal.addEventListener("abort", () => abort.abort());
          // Progress callbacks are synchronous; chain the writes so events stay in order.
          let writes = Promise.resolve();
          const send = (event: string, data: unknown) => {
            writes = writes.then(() => stream.writeSSE({ event, data: JSON.stringify(data) }));
            return writes;
          };
          try {
            const rendered = await runner.run(admitted, {
              signal: abort.signal,
              onProgress: (p: PoolProgressEvent) => void send("progress", p),
              onStages,
              onPartial: (p: PoolPartialImage) => void send("partial", p),
            });
            logJob(job, version, started, stages);
            await send("result", poolResponseIn(version, rendered));
          } catch (error) {
            const known = asRunnerError(error);
            failed(known);
            logJob(job, version, started, stages, known);
            await send("error", known.toOpenAi());
          }
        });
      });
    }
  }
  return app;
}
