// GET /v1/models and GET /v1/models/{id} (OpenAI-compatible): the served bundle and its
// `dall-e-2` alias. Behind an API key, as OpenAI's are.
import { type ModelList, modelListSchema, modelSchema } from "@unclip/shared";
import { z } from "zod";
import { modelNotFound, servedModels } from "../bundle/models.ts";
import { endpoint } from "../http/endpoint.ts";
import { errorResponses, jsonResponse } from "../http/openapi.ts";
import { requireApiKey } from "../middleware/auth/index.ts";
import { rateLimit } from "../middleware/ratelimit/index.ts";

export const modelList = endpoint(
  "get",
  "/v1/models",
  {
    summary: "The served bundle and its `dall-e-2` alias (OpenAI-compatible)",
    security: [{ bearer: [] }],
    responses: { 200: jsonResponse(modelListSchema, "The models"), 401: errorResponses[401] },
  },
  requireApiKey,
  rateLimit,
  (c) => c.json({ object: "list", data: servedModels() } satisfies ModelList),
);

export const model = endpoint(
  "get",
  "/v1/models/:id{.+}",
  {
    summary: "One model (OpenAI-compatible)",
    security: [{ bearer: [] }],
    request: { params: z.object({ id: z.string() }) },
    responses: { 200: jsonResponse(modelSchema, "The model"), 404: errorResponses[404] },
  },
  requireApiKey,
  rateLimit,
  (c) => {
    const id = c.req.param("id") ?? "";
    const found = servedModels().find((served) => served.id === id);
    if (!found) throw modelNotFound(id);
    return c.json(found);
  },
);
