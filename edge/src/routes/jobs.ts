// GET /v1/jobs/:id and GET /v1/jobs/:id/events (extension): async job status and its
// server-sent progress stream. A job is visible only to the key that submitted it.
import { jobStatusSchema } from "@unclip/shared";
import { z } from "zod";
import { ApiError } from "../errors.ts";
import { endpoint } from "../http/endpoint.ts";
import { errorResponses, jsonResponse } from "../http/openapi.ts";
import { requireApiKey } from "../middleware/auth/index.ts";
import { rateLimit } from "../middleware/ratelimit/index.ts";

const JOB_ID = ":id{job_[0-9a-f]{32}}";
const noSuchJob = () => new ApiError(404, "No such job.", "id", "job_not_found");
const jobParams = z.object({ id: z.string() });

const jobStoreOf = (env: Env, id: string | undefined) =>
  env.JOBS.get(env.JOBS.idFromName(id ?? ""));

export const jobStatus = endpoint(
  "get",
  `/v1/jobs/${JOB_ID}`,
  {
    summary: "Status of an async job (extension)",
    security: [{ bearer: [] }],
    request: { params: jobParams },
    responses: { 200: jsonResponse(jobStatusSchema, "The job"), 404: errorResponses[404] },
  },
  requireApiKey,
  rateLimit,
  async (c) => {
    const status = await jobStoreOf(c.env, c.req.param("id")).status(c.get("apiKey").hash);
    if (!status) throw noSuchJob();
    return c.json(status);
  },
);

export const jobEvents = endpoint(
  "get",
  `/v1/jobs/${JOB_ID}/events`,
  {
    summary:
      "Server-sent events of an async job: `progress` ({id, status, progress, stage?, step?, total?}) then `result` or `error` (the job status)",
    security: [{ bearer: [] }],
    request: { params: jobParams },
    responses: {
      200: {
        description: "text/event-stream",
        content: { "text/event-stream": { schema: z.string() } },
      },
      404: errorResponses[404],
    },
  },
  requireApiKey,
  rateLimit,
  (c) =>
    jobStoreOf(c.env, c.req.param("id")).fetch("http://job/events", {
      headers: { "x-unclip-owner": c.get("apiKey").hash },
    }),
);
