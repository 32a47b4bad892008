// GET /v1/models and GET /v1/models/{id} (OpenAI-compatible): the served bundle and its
// `dall-e-2` alias. Behind an API key, as OpenAI's are.
import type { ModelList } from "@unclip/shared";
import { Hono } from "hono";
import { modelNotFound, servedModels } from "../bundle/models.ts";
import { requireApiKey } from "../middleware/auth/index.ts";
import { rateLimit } from "../middleware/ratelimit/index.ts";
import type { AppEnv } from "../types.ts";

export const models = new Hono<AppEnv>()
  .get("/v1/models", requireApiKey, rateLimit, (c) =>
    c.json({ object: "list", data: servedModels() } satisfies ModelList),
  )
  .get("/v1/models/:id{.+}", requireApiKey, rateLimit, (c) => {
    const id = c.req.param("id");
    const model = servedModels().find((served) => served.id === id);
    if (!model) throw modelNotFound(id);
    return c.json(model);
  });
