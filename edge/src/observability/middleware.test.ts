// Request ids on every answer, the request's JSON log line and its Analytics Engine data point
// (a recorder bound in place of REQUEST_METRICS reads it back), and the id carried to the pool.
import { createExecutionContext, SELF, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { DEV_KEY, generate, ORIGIN, uniqueSeed } from "../../test/helpers.ts";
import { delayed, FakePool, unreachable } from "../../test/pool.ts";
import { app } from "../app.ts";
import type { RequestDataPoint } from "./requestRecord.ts";

const ID = /^req_[0-9a-f]{32}$/;

/** An Analytics Engine dataset that keeps what is written. */
function recorder() {
  const points: RequestDataPoint[] = [];
  return { points, writeDataPoint: (point: RequestDataPoint) => points.push(point) };
}

async function through(request: Request, metrics = recorder()) {
  const ctx = createExecutionContext();
  const res = await app.fetch(request, { ...env, REQUEST_METRICS: metrics } as Env, ctx);
  await waitOnExecutionContext(ctx);
  return { res, points: metrics.points };
}

const generationRequest = (body: Record<string, unknown>, headers: Record<string, string> = {}) =>
  new Request(`${ORIGIN}/v1/images/generations`, {
    method: "POST",
    headers: { authorization: `Bearer ${DEV_KEY}`, "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });

describe("x-request-id", () => {
  let pool: FakePool;
  beforeEach(() => {
    pool = new FakePool().install();
  });
  afterEach(() => pool.restore());

  it("is on every answer: success, 4xx, 404, 405, preflight and image GET", async () => {
    const ok = await generate({ prompt: "a red circle", seed: uniqueSeed() });
    expect(ok.status).toBe(200);
    expect(ok.headers.get("x-request-id")).toMatch(ID);
    const { data } = (await ok.json()) as { data: { url: string }[] };
    const image = await SELF.fetch(data[0].url);
    expect(image.status).toBe(200);
    expect(image.headers.get("x-request-id")).toMatch(ID);
    const answers = await Promise.all([
      generate({ prompt: "" }),
      generate({ prompt: "a red circle" }, null),
      SELF.fetch(`${ORIGIN}/v1/nothing-here`),
      SELF.fetch(`${ORIGIN}/v1/images/generations`, { method: "GET" }),
      SELF.fetch(`${ORIGIN}/v1/images/generations`, {
        method: "OPTIONS",
        headers: { origin: "http://localhost:5173", "access-control-request-method": "POST" },
      }),
    ]);
    expect(answers.map((r) => r.status)).toEqual([400, 401, 404, 405, 204]);
    for (const res of answers) expect(res.headers.get("x-request-id")).toMatch(ID);
    // Browsers may read it.
    expect(answers[4].headers.get("access-control-expose-headers")).toContain("x-request-id");
  });

  it("keeps a well-formed client id, replaces a malformed one, and never repeats one", async () => {
    const kept = await generate({ prompt: "" });
    const mine = await SELF.fetch(`${ORIGIN}/v1/models`, {
      headers: { authorization: `Bearer ${DEV_KEY}`, "x-request-id": "client-trace.42" },
    });
    expect(mine.headers.get("x-request-id")).toBe("client-trace.42");
    const malformed = await SELF.fetch(`${ORIGIN}/v1/models`, {
      headers: { authorization: `Bearer ${DEV_KEY}`, "x-request-id": 'a b"c' },
    });
    expect(malformed.headers.get("x-request-id")).toMatch(ID);
    expect(malformed.headers.get("x-request-id")).not.toBe(kept.headers.get("x-request-id"));
  });

  it("is sent to the pool in the signed job body", async () => {
    const res = await generate({ prompt: "a red circle", seed: uniqueSeed() });
    expect(pool.calls).toHaveLength(1);
    expect(pool.calls[0].body.request_id).toBe(res.headers.get("x-request-id"));
  });
});

describe("the request's data point and log line", () => {
  let pool: FakePool;
  beforeEach(() => {
    pool = new FakePool().install();
  });
  afterEach(() => {
    pool.restore();
    vi.restoreAllMocks();
  });

  it("records route, status, cache, latency, units, key and colo, read back from the dataset", async () => {
    const log = vi.spyOn(console, "log");
    const seed = uniqueSeed();
    const miss = await through(
      generationRequest({ prompt: "a red circle", seed, size: "512x512" }),
    );
    expect(miss.res.status).toBe(200);
    const id = miss.res.headers.get("x-request-id");
    expect(miss.points).toHaveLength(1);
    const [point] = miss.points;
    expect(point.indexes).toEqual(["39f9742666377d1b"]); // sha256("sk-local-dev"), 16 hex
    const [route, cache, colo, requestId, poolOutcome, runner, method, error] = point.blobs;
    expect({ route, cache, requestId, poolOutcome, method, error }).toEqual({
      route: "/v1/images/generations",
      cache: "miss",
      requestId: id,
      poolOutcome: "ok",
      method: "POST",
      error: "",
    });
    expect(runner).toMatch(/^http:\/\/pool-[ab]\.test$/);
    expect(colo.length).toBeGreaterThan(0);
    const [status, latencyMs, units, images] = point.doubles;
    expect({ status, units, images }).toEqual({ status: 200, units: 4, images: 1 });
    expect(latencyMs).toBeGreaterThanOrEqual(0);

    const line = log.mock.calls
      .map(([text]) => (typeof text === "string" && text.startsWith("{") ? JSON.parse(text) : null))
      .find((entry) => entry?.msg === "request" && entry.request_id === id);
    expect(line).toMatchObject({
      level: "info",
      route: "/v1/images/generations",
      status: 200,
      cache: "miss",
      job: id,
      key_id: "39f9742666377d1b",
      units: 4,
    });
    expect(JSON.stringify(line)).not.toContain(DEV_KEY);

    const hit = await through(generationRequest({ prompt: "a red circle", seed, size: "512x512" }));
    expect(hit.points[0].blobs[1]).toBe("hit");
    expect(hit.points[0].blobs[4]).toBe("none");
  });

  it("records an error answer with its code and the pool outcome", async () => {
    pool.handler = unreachable;
    const failed = await through(generationRequest({ prompt: "a red circle", seed: uniqueSeed() }));
    expect(failed.res.status).toBe(503);
    const [point] = failed.points;
    expect(point.doubles[0]).toBe(503);
    expect(point.blobs[4]).toBe("unreachable");
    expect(point.blobs[7]).toBe("pool_unavailable");
    const invalid = await through(generationRequest({ prompt: "" }));
    expect(invalid.points[0].doubles[0]).toBe(400);
    expect(invalid.points[0].blobs[4]).toBe("none");
  });

  it("says which request ids joined which job (single flight)", async () => {
    pool.handler = delayed(300);
    const seed = uniqueSeed();
    const metrics = recorder();
    const answers = await Promise.all(
      Array.from({ length: 4 }, () =>
        through(generationRequest({ prompt: "a red circle", seed }), metrics),
      ),
    );
    expect(answers.map((a) => a.res.status)).toEqual([200, 200, 200, 200]);
    expect(pool.calls).toHaveLength(1);
    const leader = pool.calls[0].body.request_id;
    const byId = new Map(metrics.points.map((p) => [p.blobs[3], p.blobs[1]]));
    expect(byId.get(leader as string)).toBe("miss");
    const others = answers
      .map((a) => a.res.headers.get("x-request-id"))
      .filter((id) => id !== leader);
    expect(others).toHaveLength(3);
    for (const id of others) expect(["joined", "hit"]).toContain(byId.get(id as string));
    expect(others.filter((id) => byId.get(id as string) === "joined").length).toBeGreaterThan(0);
  });
});
