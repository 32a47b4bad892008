// POST /v1/images/generations (OpenAI-compatible, plus seed/steps/guidance and `async`).
import { generationRequestSchema, type ImagesResponse, type JobStatus } from "@unclip/shared";
import { type Context, Hono } from "hono";
import { servedBundle } from "../bundle/index.ts";
import { requireServedModel } from "../bundle/models.ts";
import { renderThroughCache } from "../cache/index.ts";
import { generationJob, type RenderJob } from "../cache/render.ts";
import { imagesData } from "../cache/store.ts";
import { configOf } from "../config.ts";
import { enforceContentPolicy } from "../contentPolicy.ts";
import type { JobSpec } from "../durable/jobStore.ts";
import { requireApiKey } from "../middleware/auth/index.ts";
import { body, MAX_JSON_BODY_BYTES, parseJsonBody } from "../middleware/body/index.ts";
import { chargeRequest, costOf, policyFor, rateLimit } from "../middleware/ratelimit/index.ts";
import type { AppEnv } from "../types.ts";

/** Renders (or finds) a job's images and answers in the requested format. */
async function imagesFor(
  job: RenderJob,
  responseFormat: "url" | "b64_json",
  origin: string,
  env: Env,
): Promise<{ response: ImagesResponse; generated: boolean }> {
  const { generated } = await renderThroughCache(job, env);
  return {
    response: {
      created: Math.floor(Date.now() / 1000),
      data: await imagesData(job, responseFormat, origin, env),
    },
    generated,
  };
}

/** Answers a job's images (rendered now or found in R2), saying in `x-unclip-cache` which. */
export async function answerImages(
  c: Context<AppEnv>,
  job: RenderJob,
  responseFormat: "url" | "b64_json",
) {
  const origin = new URL(c.req.url).origin;
  const { response, generated } = await imagesFor(job, responseFormat, origin, c.env);
  c.header("x-unclip-cache", generated ? "miss" : "hit");
  return c.json(response);
}

/** Starts an async job (202); its progress is at /v1/jobs/:id and /v1/jobs/:id/events. */
export async function submitJob(spec: Omit<JobSpec, "id">, env: Env): Promise<JobStatus> {
  const id = `job_${crypto.randomUUID().replaceAll("-", "")}`;
  const store = env.JOBS.get(env.JOBS.idFromName(id));
  return store.start({ ...spec, id });
}

export const generations = new Hono<AppEnv>().post(
  "/v1/images/generations",
  requireApiKey,
  rateLimit,
  body("application/json", MAX_JSON_BODY_BYTES),
  async (c) => {
    const request = parseJsonBody(c.get("bodyBytes"), generationRequestSchema);
    requireServedModel(request.model);
    enforceContentPolicy(request.prompt, "prompt", configOf(c.env).BLOCKED_TERMS, servedBundle);
    const job = await generationJob(request, servedBundle);
    const cost = costOf(job.count, job.size);
    await chargeRequest(c, cost);
    const origin = new URL(c.req.url).origin;
    c.header("x-unclip-cache-key", job.key);
    if (request.async) {
      const status = await submitJob(
        {
          ownerHash: c.get("apiKey").hash,
          job,
          responseFormat: request.response_format,
          origin,
          charge: { units: cost, policy: policyFor(c.get("apiKey"), c.env) },
        },
        c.env,
      );
      c.header("location", `/v1/jobs/${status.id}`);
      return c.json(status, 202);
    }
    return answerImages(c, job, request.response_format);
  },
);
