// The edge's Hono app: the routes of Contract 1 (docs/ARCHITECTURE.md), one error handler that
// always answers the OpenAI error object, and JSON 404/405 for everything else.
import { Hono } from "hono";
import { servedBundle } from "./bundle/index.ts";
import { ApiError, errorResponse } from "./errors.ts";
import { cors } from "./middleware/cors/index.ts";
import { playgroundPage } from "./playground/page.ts";
import { edits } from "./routes/edits.ts";
import { generations } from "./routes/generations.ts";
import { health } from "./routes/health.ts";
import { images } from "./routes/images.ts";
import { interpolations } from "./routes/interpolations.ts";
import { jobs } from "./routes/jobs.ts";
import { models } from "./routes/models.ts";
import { openApiDocument } from "./routes/openapi.ts";
import { variations } from "./routes/variations.ts";
import type { AppEnv } from "./types.ts";

/** Every route and its methods (HEAD comes with GET), for 405 + Allow on the others. */
const routeMethods: Array<[RegExp, string[]]> = [
  [/^\/$/, ["GET", "HEAD"]],
  [/^\/openapi\.json$/, ["GET", "HEAD"]],
  [/^\/(healthz|readyz)$/, ["GET", "HEAD"]],
  [/^\/v1\/images\/(generations|variations|edits|interpolations)$/, ["POST"]],
  [/^\/v1\/images\/[0-9a-f]{64}\/[0-9]+\.png$/, ["GET", "HEAD"]],
  [/^\/v1\/jobs\/[^/]+(\/events)?$/, ["GET", "HEAD"]],
  [/^\/v1\/models(\/.+)?$/, ["GET", "HEAD"]],
];

export const app = new Hono<AppEnv>()
  .use(cors)
  .get("/", (c) =>
    c.html(
      playgroundPage({
        sizes: servedBundle.sizes,
        bundleId: servedBundle.id,
        examplePrompts: servedBundle.manifest.example_prompts,
      }),
    ),
  )
  .get("/openapi.json", (c) => c.json(openApiDocument(new URL(c.req.url).origin)))
  .route("/", health)
  .route("/", generations)
  .route("/", variations)
  .route("/", edits)
  .route("/", interpolations)
  .route("/", images)
  .route("/", jobs)
  .route("/", models);

app.notFound((c) => {
  const path = new URL(c.req.url).pathname;
  const allowed = routeMethods.find(([pattern]) => pattern.test(path))?.[1];
  if (allowed && !allowed.includes(c.req.method)) {
    const message = `Method ${c.req.method} is not allowed on ${path}; use ${allowed.join(", ")}.`;
    const allow = { allow: allowed.join(", ") };
    return errorResponse(new ApiError(405, message, null, "method_not_allowed", allow), c);
  }
  // Returned, not thrown: Hono does not route errors of the notFound handler to onError.
  return errorResponse(
    new ApiError(404, `Unknown route: ${c.req.method} ${path}.`, null, "not_found"),
    c,
  );
});

app.onError(errorResponse);
