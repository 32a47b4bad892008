// POST /v1/images/interpolations (extension): frames between two prompts (slerp) or along a
// text diff, each frame an image of the job.
import { interpolationRequestSchema } from "@unclip/shared";
import { Hono } from "hono";
import { servedBundle } from "../bundle/index.ts";
import { requireServedModel } from "../bundle/models.ts";
import { interpolationJob } from "../cache/render.ts";
import { configOf } from "../config.ts";
import { enforceContentPolicy } from "../contentPolicy.ts";
import { requireApiKey } from "../middleware/auth/index.ts";
import { body, MAX_JSON_BODY_BYTES, parseJsonBody } from "../middleware/body/index.ts";
import { chargeRequest, costOf, rateLimit } from "../middleware/ratelimit/index.ts";
import type { AppEnv } from "../types.ts";
import { answerImages } from "./generations.ts";

export const interpolations = new Hono<AppEnv>().post(
  "/v1/images/interpolations",
  requireApiKey,
  rateLimit,
  body("application/json", MAX_JSON_BODY_BYTES),
  async (c) => {
    const request = parseJsonBody(c.get("bodyBytes"), interpolationRequestSchema);
    requireServedModel(request.model);
    const { BLOCKED_TERMS } = configOf(c.env);
    enforceContentPolicy(request.prompt, "prompt", BLOCKED_TERMS, servedBundle);
    enforceContentPolicy(request.target_prompt, "target_prompt", BLOCKED_TERMS, servedBundle);
    const job = await interpolationJob(request, servedBundle);
    await chargeRequest(c, costOf(job.count, job.size));
    c.header("x-unclip-cache-key", job.key);
    return answerImages(c, job, request.response_format);
  },
);
