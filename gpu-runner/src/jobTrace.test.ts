// The runner's job log line: the edge's request id and where the job's time went, per stage.
import { poolPathOf, signRequest } from "@unclip/shared";
import { describe, expect, it } from "vitest";
import { createApp, type JobLogEntry } from "./server.ts";
import { fakeBundle } from "./testing/fakeBundle.ts";
import { generateRequest } from "./testing/requests.ts";
import { testRunner } from "./testing/runner.ts";

const secret = "trace-secret-123";

async function loggingServer(delayMs?: number) {
  const bundle = fakeBundle({ delayMs });
  const runner = testRunner(bundle);
  await runner.warm();
  const logged: JobLogEntry[] = [];
  const app = createApp(runner, { secrets: [secret], logJob: (entry) => logged.push(entry) });
  const post = async (body: unknown, signal?: AbortSignal) => {
    const path = poolPathOf("generation");
    const text = JSON.stringify(body);
    const headers = await signRequest(secret, { method: "POST", path, body: text });
    return app.request(path, {
      method: "POST",
      body: text,
      headers: { "content-type": "application/json", ...headers },
      signal,
    });
  };
  return { runner, bundle, logged, post };
}

describe("job log lines", () => {
  it("carry the request id and the calls, rows, largest call and time of each stage", async () => {
    const { runner, bundle, logged, post } = await loggingServer();
    const request = generateRequest(bundle.id, {
      n: 2,
      prior_steps: 3,
      decoder_steps: 4,
      request_id: "req_trace_me",
    });
    expect((await post(request)).status).toBe(200);
    expect(logged).toHaveLength(1);
    const [line] = logged;
    expect(line).toMatchObject({ request_id: "req_trace_me", status: 200, images: 2, error: null });
    // Two guided images are 4 rows in each of the decoder's 4 calls, each call counted once.
    expect(line.stages.decoder).toMatchObject({ calls: 4, rows: 16, max_batch: 4 });
    expect(line.stages.prior.calls).toBe(3);
    expect(line.stages.decoder.ms).toBeGreaterThanOrEqual(0);
    expect(Object.keys(line.stages)).toEqual(
      expect.arrayContaining(["text_encoder", "prior", "decoder", "upsampler_0"]),
    );
    expect(runner.tracer.size).toBe(0);
  });

  it("are written for a failed job too, and its trace is forgotten", async () => {
    // Every network call takes 20 ms: the job is still running when its client leaves.
    const { runner, bundle, logged, post } = await loggingServer(20);
    const gone = new AbortController();
    const request = generateRequest(bundle.id, { request_id: "req_gone", decoder_steps: 50 });
    const answer = post(request, gone.signal).catch(() => undefined);
    while (runner.depth === 0) await new Promise((r) => setTimeout(r, 5));
    gone.abort();
    await answer;
    while (logged.length === 0) await new Promise((r) => setTimeout(r, 5));
    expect(logged).toEqual([
      expect.objectContaining({ request_id: "req_gone", error: "cancelled" }),
    ]);
    expect(runner.tracer.size).toBe(0);
  });

  it("say null for a job that came without a request id", async () => {
    const { bundle, logged, post } = await loggingServer();
    await post(generateRequest(bundle.id));
    expect(logged[0].request_id).toBeNull();
  });
});
