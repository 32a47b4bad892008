// GET /v1/jobs/:id and GET /v1/jobs/:id/events (extension): async job status and its
// server-sent progress stream. A job is visible only to the key that submitted it.
import { Hono } from "hono";
import { ApiError } from "../errors.ts";
import { requireApiKey } from "../middleware/auth/index.ts";
import { rateLimit } from "../middleware/ratelimit/index.ts";
import type { AppEnv } from "../types.ts";

const JOB_ID = ":id{job_[0-9a-f]{32}}";
const noSuchJob = () => new ApiError(404, "No such job.", "id", "job_not_found");

export const jobs = new Hono<AppEnv>()
  .get(`/v1/jobs/${JOB_ID}`, requireApiKey, rateLimit, async (c) => {
    const store = c.env.JOBS.get(c.env.JOBS.idFromName(c.req.param("id")));
    const status = await store.status(c.get("apiKey").hash);
    if (!status) throw noSuchJob();
    return c.json(status);
  })
  .get(`/v1/jobs/${JOB_ID}/events`, requireApiKey, rateLimit, async (c) => {
    const store = c.env.JOBS.get(c.env.JOBS.idFromName(c.req.param("id")));
    return store.fetch("http://job/events", {
      headers: { "x-unclip-owner": c.get("apiKey").hash },
    });
  });
