// The pool's HTTP API (Contract 3) on Hono: signed job routes that answer JSON or, with
// `accept: text/event-stream`, progress and partial-image events then the result; health, readiness, metrics.
// Routes are thin: they verify, parse and hand the job to the Runner.
import {
  nativeResolutionOf,
  openAiError,
  openAiErrorFromZod,
  POOL_PATHS,
  type PoolPartialImage,
  type PoolProgressEvent,
  poolEditRequestSchema,
  poolGenerateRequestSchema,
  poolInterpolateRequestSchema,
  poolVariationRequestSchema,
  ReplayGuard,
  sizesFor,
  verifyRequest,
} from "@unclip/shared";
import { type Context, Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { streamSSE } from "hono/streaming";
import type { z } from "zod";
import { asRunnerError, RunnerError } from "./errors.ts";
import type { JobKind, JobRequest, Runner } from "./runner.ts";

export interface ServerOptions {
  secret: string;
  replayGuard?: ReplayGuard;
}

/** Two 4 MB PNGs (an edit's image and mask) in base64 plus the JSON around them. */
const MAX_BODY_BYTES = 12 * 1024 * 1024;

const schemas: Record<JobKind, z.ZodType> = {
  generate: poolGenerateRequestSchema,
  variations: poolVariationRequestSchema,
  interpolate: poolInterpolateRequestSchema,
  edits: poolEditRequestSchema,
};

function errorResponse(c: Context, error: RunnerError): Response {
  if (error.retryAfterS !== undefined) c.header("retry-after", String(error.retryAfterS));
  return c.json(error.toOpenAi(), error.status);
}

export function createApp(runner: Runner, options: ServerOptions): Hono {
  const app = new Hono();
  const replayGuard = options.replayGuard ?? new ReplayGuard();

  app.onError((error, c) => {
    const known = asRunnerError(error);
    if (!(error instanceof RunnerError)) console.error("unexpected error:", error);
    return errorResponse(c, known);
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
  app.use(
    "/v1/*",
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: (c) => {
        runner.metrics.errors.inc({ kind: "bad_request" });
        return c.json(openAiError(413, `Request body over ${MAX_BODY_BYTES} bytes.`), 413);
      },
    }),
  );

  for (const kind of Object.keys(POOL_PATHS) as JobKind[]) {
    app.post(POOL_PATHS[kind], async (c) => {
      const body = await c.req.text();
      const url = new URL(c.req.url);
      const verdict = await verifyRequest(
        options.secret,
        { method: "POST", path: url.pathname + url.search, body },
        c.req.raw.headers,
        { replayGuard },
      );
      if (!verdict.ok) {
        runner.metrics.errors.inc({ kind: "unauthorized" });
        throw new RunnerError("unauthorized", `Request signature refused: ${verdict.reason}.`);
      }
      let json: unknown;
      try {
        json = JSON.parse(body);
      } catch {
        runner.metrics.errors.inc({ kind: "bad_request" });
        throw new RunnerError("bad_request", "The request body is not valid JSON.");
      }
      const parsed = schemas[kind].safeParse(json);
      if (!parsed.success) {
        runner.metrics.errors.inc({ kind: "bad_request" });
        return c.json(openAiErrorFromZod(parsed.error), 400);
      }
      const job = { kind, request: parsed.data } as JobRequest;
      const wantsStream = (c.req.header("accept") ?? "").includes("text/event-stream");
      if (!wantsStream) {
        return c.json(await runner.submit(job, { signal: c.req.raw.signal }));
      }
      try {
        runner.check(job);
      } catch (error) {
        if (error instanceof RunnerError) runner.metrics.errors.inc({ kind: error.kind });
        throw error;
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
          const result = await runner.submit(job, {
            signal: abort.signal,
            onProgress: (p: PoolProgressEvent) => void send("progress", p),
            onPartial: (p: PoolPartialImage) => void send("partial", p),
          });
          await send("result", result);
        } catch (error) {
          await send("error", asRunnerError(error).toOpenAi());
        }
      });
    });
  }
  return app;
}
