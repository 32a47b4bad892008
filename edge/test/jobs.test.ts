// Extensions: async jobs with a server-sent progress stream fed by the pool's SSE, and
// interpolations between two prompts.
import { runDurableObjectAlarm, SELF } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { type JobStatus, jobStatusSchema, poolPathOf } from "@unclip/shared";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parseServerSentEvents, type ServerSentEvent } from "../src/http/sse.ts";
import { DEV_KEY, errorOf, generate, newApiKey, ORIGIN, postJson, uniqueSeed } from "./helpers.ts";
import { busy, FakePool, type PoolHandler, renderedResponse } from "./pool.ts";

let pool: FakePool;
beforeEach(() => {
  pool = new FakePool().install();
});
afterEach(() => pool.restore());

/** A runner that streams decoder progress, as the real one does for `accept: text/event-stream`. */
const streamsProgress: PoolHandler = async (call) => {
  const encoder = new TextEncoder();
  const stream = new ReadableStream<Uint8Array>({
    async start(controller) {
      const send = (event: string, data: unknown) =>
        controller.enqueue(encoder.encode(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`));
      for (let step = 1; step <= 4; step++) {
        await new Promise((resolve) => setTimeout(resolve, 150));
        send("progress", { stage: "decoder", step, total: 4, progress: step / 5 });
      }
      send("result", await renderedResponse(call));
      controller.close();
    },
  });
  return new Response(stream, { headers: { "content-type": "text/event-stream" } });
};

function get(path: string, apiKey = DEV_KEY) {
  return SELF.fetch(`${ORIGIN}${path}`, { headers: { authorization: `Bearer ${apiKey}` } });
}

async function eventsOf(res: Response): Promise<ServerSentEvent[]> {
  const events: ServerSentEvent[] = [];
  for await (const event of parseServerSentEvents(res.body!)) events.push(event);
  return events;
}

describe("async jobs", () => {
  it("answers 202 with a job, streams its progress, then the result", async () => {
    pool.handler = streamsProgress;
    const submitted = await generate({
      prompt: "a red circle",
      seed: uniqueSeed(),
      n: 2,
      async: true,
    });
    expect(submitted.status).toBe(202);
    const job = jobStatusSchema.parse(await submitted.json());
    expect(job).toMatchObject({ object: "image.job", status: "queued", progress: 0 });
    expect(submitted.headers.get("location")).toBe(`/v1/jobs/${job.id}`);
    expect(submitted.headers.get("x-ratelimit-remaining-requests")).toEqual(expect.any(String));

    const stream = await get(`/v1/jobs/${job.id}/events`);
    expect(stream.headers.get("content-type")).toMatch(/^text\/event-stream/);
    const events = await eventsOf(stream);
    const last = events.at(-1)!;
    expect(last.event).toBe("result");
    const final = JSON.parse(last.data) as JobStatus;
    expect(final).toMatchObject({ id: job.id, status: "succeeded", progress: 1 });
    expect(final.result?.data).toHaveLength(2);
    const progress = events
      .filter((e) => e.event === "progress")
      .map((e) => JSON.parse(e.data).progress);
    expect(progress.some((p: number) => p > 0 && p < 1)).toBe(true);
    expect(progress).toEqual([...progress].sort());
    expect(pool.calls[0].headers.get("accept")).toBe("text/event-stream");

    const status = jobStatusSchema.parse(await (await get(`/v1/jobs/${job.id}`)).json());
    expect(status.status).toBe("succeeded");
    expect(status.result).toEqual(final.result);
  });

  it("coalesces a runner's per-step progress so hundreds of steps never flood the job", async () => {
    pool.handler = async (call) => {
      const steps = Array.from(
        { length: 400 },
        (_, i) =>
          `event: progress\ndata: ${JSON.stringify({ stage: "decoder", step: i, total: 400, progress: (0.9 * i) / 400 })}\n\n`,
      ).join("");
      const result = `event: result\ndata: ${JSON.stringify(await renderedResponse(call))}\n\n`;
      return new Response(steps + result, { headers: { "content-type": "text/event-stream" } });
    };
    const submitted = await generate({ prompt: "a red circle", seed: uniqueSeed(), async: true });
    const { id } = (await submitted.json()) as JobStatus;
    const events = await eventsOf(await get(`/v1/jobs/${id}/events`));
    expect(events.at(-1)?.event).toBe("result");
    expect(events.filter((e) => e.event === "progress").length).toBeLessThanOrEqual(100);
  });

  it("forgets a finished job when its retention alarm fires", async () => {
    const submitted = await generate({ prompt: "a red circle", seed: uniqueSeed(), async: true });
    const { id } = (await submitted.json()) as JobStatus;
    await eventsOf(await get(`/v1/jobs/${id}/events`)); // until the job ends
    expect((await get(`/v1/jobs/${id}`)).status).toBe(200);
    expect(await runDurableObjectAlarm(env.JOBS.get(env.JOBS.idFromName(id)))).toBe(true);
    expect((await get(`/v1/jobs/${id}`)).status).toBe(404);
  });

  it("hides a job from other keys and answers 404 for unknown ids", async () => {
    const submitted = await generate({ prompt: "a red circle", seed: uniqueSeed(), async: true });
    const { id } = (await submitted.json()) as JobStatus;
    const stranger = await newApiKey();
    expect((await get(`/v1/jobs/${id}`, stranger)).status).toBe(404);
    expect((await get(`/v1/jobs/${id}/events`, stranger)).status).toBe(404);
    const unknown = await get(`/v1/jobs/job_${"0".repeat(32)}`);
    expect(unknown.status).toBe(404);
    expect((await errorOf(unknown)).code).toBe("job_not_found");
  });

  it("ends a failed job with an error event carrying the OpenAI error, and refunds it", async () => {
    pool.handler = busy(1);
    const key = await newApiKey({ burst: 10, rate_per_minute: 0.001 });
    const submitted = await generate(
      { prompt: "a red circle", seed: uniqueSeed(), async: true, size: "512x512" },
      key,
    );
    expect(submitted.headers.get("x-ratelimit-remaining-requests")).toBe("6");
    const { id } = (await submitted.json()) as JobStatus;
    const events = await eventsOf(await get(`/v1/jobs/${id}/events`, key));
    const last = events.at(-1)!;
    expect(last.event).toBe("error");
    expect(JSON.parse(last.data)).toMatchObject({
      status: "failed",
      error: { type: "server_error", code: "pool_unavailable" },
    });
    const after = await get(`/v1/jobs/${id}`, key);
    expect(after.headers.get("x-ratelimit-remaining-requests")).toBe("10");
  });
});

describe("POST /v1/images/interpolations", () => {
  it("renders one image per frame through the pool's interpolate endpoint, then caches them", async () => {
    const body = {
      prompt: "a red circle",
      target_prompt: "a blue square",
      frames: 4,
      seed: uniqueSeed(),
    };
    const res = await postJson("/v1/images/interpolations", body);
    expect(res.status).toBe(200);
    expect(((await res.json()) as { data: unknown[] }).data).toHaveLength(4);
    expect(pool.calls[0].url.pathname).toBe(poolPathOf("interpolation"));
    expect(pool.calls[0].body).toMatchObject({
      mode: "slerp",
      frames: 4,
      target_prompt: "a blue square",
    });
    const again = await postJson("/v1/images/interpolations", body);
    expect(again.headers.get("x-unclip-cache")).toBe("hit");
    const diff = await postJson("/v1/images/interpolations", { ...body, mode: "text_diff" });
    expect(diff.headers.get("x-unclip-cache-key")).not.toBe(res.headers.get("x-unclip-cache-key"));
    expect(pool.calls).toHaveLength(2);
  });
});
