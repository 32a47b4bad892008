// The edge's Hono app: the endpoints of Contract 1 (docs/ARCHITECTURE.md), each declared once
// (http/endpoint.ts) and mounted, described at /openapi.json and answered with 405 + Allow on
// other methods from that same list; one error handler that always answers the OpenAI error
// object; JSON 404.
import { Hono } from "hono";
import { methodNotAllowed } from "hono/method-not-allowed";
import { ApiError, errorResponse } from "./errors.ts";
import { type Endpoint, mountEndpoints } from "./http/endpoint.ts";
import { cors } from "./middleware/cors/index.ts";
import { edits } from "./routes/edits.ts";
import { generations } from "./routes/generations.ts";
import { healthz, readyz } from "./routes/health.ts";
import { images } from "./routes/images.ts";
import { interpolations } from "./routes/interpolations.ts";
import { jobEvents, jobStatus } from "./routes/jobs.ts";
import { model, modelList } from "./routes/models.ts";
import { openApiJson } from "./routes/openapi.ts";
import { playground } from "./routes/playground.ts";
import { variations } from "./routes/variations.ts";
import type { AppEnv } from "./types.ts";

/** Every route the edge serves, in one list. */
export const endpoints: readonly Endpoint[] = [
  playground,
  openApiJson(() => endpoints),
  healthz,
  readyz,
  generations,
  variations,
  edits,
  interpolations,
  images,
  jobStatus,
  jobEvents,
  modelList,
  model,
];

export const app = new Hono<AppEnv>();
app.use(cors);
app.use(
  methodNotAllowed({
    app,
    onMethodNotAllowed: (c, methods) => {
      const message = `Method ${c.req.method} is not allowed on ${c.req.path}; use ${methods.join(", ")}.`;
      const allow = { allow: methods.join(", ") };
      return errorResponse(new ApiError(405, message, null, "method_not_allowed", allow), c);
    },
  }),
);
mountEndpoints(app, endpoints);

app.notFound((c) =>
  // Returned, not thrown: Hono does not route errors of the notFound handler to onError.
  errorResponse(
    new ApiError(404, `Unknown route: ${c.req.method} ${c.req.path}.`, null, "not_found"),
    c,
  ),
);

app.onError(errorResponse);
