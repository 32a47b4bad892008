// The flow every image POST shares once its route has parsed the request: the model and the
// content policy, then the render job (key and payload), the charge, and either an async job
// (202) or the images now through the image service.
import type { Context } from "hono";
import { servedBundle } from "../bundle/index.ts";
import { requireServedModel } from "../bundle/models.ts";
import { configOf } from "../config.ts";
import { enforceContentPolicy } from "../contentPolicy.ts";
import { submitAsyncJob } from "../durable/jobStore.ts";
import type { OutputEncoding } from "../images/encode.ts";
import { chargeRequest, costOf, policyFor } from "../middleware/ratelimit/index.ts";
import { type AnswerShape, imagesData, type ResponseFormat } from "../render/answer.ts";
import type { StreamedOperation } from "../render/events.ts";
import { type ImageRequest, renderJobFor } from "../render/job.ts";
import { renderImages } from "../render/service.ts";
import { SSE_HEADERS, streamedAnswer } from "../render/stream.ts";
import type { AppEnv } from "../types.ts";

/**
 * The checks every image request passes before anything is read further: the model it
 * names, then each prompt (by its field name) against the content policy.
 */
export function admitImageRequest(
  env: Env,
  model: string | null | undefined,
  prompts: Record<string, string> = {},
): void {
  requireServedModel(model);
  const { BLOCKED_TERMS } = configOf(env);
  for (const [param, prompt] of Object.entries(prompts)) {
    enforceContentPolicy(prompt, param, BLOCKED_TERMS, servedBundle);
  }
}

export interface AnswerOptions {
  responseFormat: ResponseFormat;
  /** `output_format` and `output_compression`, defaults applied (outputEncodingOf). */
  encoding: OutputEncoding;
  /** Answer 202 with an async job instead of waiting (generations' `async`). */
  async?: boolean;
  /** Answer with server-sent events (`stream: true`; one image, checked by the schema). */
  stream?: { operation: StreamedOperation; partialImages: number };
}

/** Renders (or finds) the request's images and answers them; `x-unclip-cache` says which. */
export async function answerImageRequest(
  c: Context<AppEnv>,
  request: ImageRequest,
  { responseFormat, encoding, async = false, stream }: AnswerOptions,
): Promise<Response> {
  const job = await renderJobFor(request, servedBundle);
  const cost = costOf(job.count, job.size);
  await chargeRequest(c, cost);
  c.header("x-unclip-cache-key", job.key);
  const shape: AnswerShape = { responseFormat, encoding, origin: new URL(c.req.url).origin };
  if (stream) {
    const apiKey = c.get("apiKey");
    const { events, cacheHit } = await streamedAnswer(
      {
        job,
        ...stream,
        encoding,
        requestId: c.get("requestId"),
        refund: () =>
          c.env.RATE_LIMITER.get(c.env.RATE_LIMITER.idFromName(apiKey.hash)).refund(
            cost,
            policyFor(apiKey, c.env),
          ),
      },
      c.env,
      c.executionCtx,
    );
    c.header("x-unclip-cache", cacheHit ? "hit" : "miss");
    return c.body(events, 200, SSE_HEADERS);
  }
  if (async) {
    const apiKey = c.get("apiKey");
    const status = await submitAsyncJob(
      {
        ...shape,
        ownerHash: apiKey.hash,
        job,
        charge: { units: cost, policy: policyFor(apiKey, c.env) },
      },
      c.env,
    );
    c.header("location", `/v1/jobs/${status.id}`);
    return c.json(status, 202);
  }
  const render = { cache: null, job: null, runner: null, pool: null, images: job.count };
  c.set("render", render);
  const { generated, images, ...made } = await renderImages(job, c.env, {
    withImages: responseFormat === "b64_json",
    requestId: c.get("requestId"),
  });
  c.set("render", {
    ...render,
    cache: !generated ? "hit" : made.joined ? "joined" : "miss",
    job: made.job ?? null,
    runner: made.runner ?? null,
    pool: generated ? "ok" : null,
  });
  c.header("x-unclip-cache", generated ? "miss" : "hit");
  return c.json({
    created: Math.floor(Date.now() / 1000),
    data: await imagesData(job, shape, c.env, images),
  });
}
