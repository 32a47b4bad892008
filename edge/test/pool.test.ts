// The pool client against failing runners: retries with jitter honouring retry-after, a clear
// 503 + retry-after to the client, failover between runners, and no partial object in R2.
import { env } from "cloudflare:workers";
import { poolPathOf } from "@unclip/shared";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { backoffMs, retryAfterMs } from "../src/pool/client.ts";
import { errorOf, generate, uniqueSeed } from "./helpers.ts";
import {
  busy,
  FakePool,
  hangs,
  type PoolHandler,
  renderedResponse,
  renders,
  unreachable,
} from "./pool.ts";

let pool: FakePool;
beforeEach(() => {
  pool = new FakePool().install();
});
afterEach(() => pool.restore());

async function objectsUnder(key: string | null) {
  expect(key).toMatch(/^[0-9a-f]{64}$/);
  return (await env.IMAGES.list({ prefix: `${key}/` })).objects;
}

async function expect503(res: Response) {
  expect(res.status).toBe(503);
  expect(Number(res.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
  const body = (await res.json()) as { error: Record<string, unknown> };
  expect(body.error).toMatchObject({ type: "server_error", code: "pool_unavailable" });
  return body.error;
}

describe("pool client policy", () => {
  it("spreads retries with full jitter, capped", () => {
    expect(backoffMs(0, () => 1)).toBe(100);
    expect(backoffMs(3, () => 0.5)).toBe(400);
    expect(backoffMs(20, () => 1)).toBe(2000);
  });

  it("reads retry-after in seconds and as an HTTP date", () => {
    expect(retryAfterMs("2", 0)).toBe(2000);
    expect(retryAfterMs(new Date(5000).toUTCString(), 1000)).toBe(4000);
    expect(retryAfterMs("soon", 0)).toBeUndefined();
    expect(retryAfterMs(null, 0)).toBeUndefined();
  });
});

describe("rolling deploys (protocol versions)", () => {
  /** A runner of the previous release: no route for the current version's paths. */
  const previousRelease: PoolHandler = async (call, signal) =>
    call.url.pathname.startsWith("/v1/")
      ? renders(call, signal)
      : Response.json(
          {
            error: { message: "No route", type: "invalid_request_error", param: null, code: null },
          },
          { status: 404 },
        );

  it("speaks the current version to an upgraded runner", async () => {
    const res = await generate({ prompt: "a red circle", seed: uniqueSeed() });
    expect(res.status).toBe(200);
    expect(pool.calls.map((c) => c.url.pathname)).toEqual([poolPathOf("generation")]);
  });

  it("falls back to the previous version on the same runner when it does not know the current one", async () => {
    pool.handler = previousRelease;
    const res = await generate({ prompt: "a red circle", seed: uniqueSeed() });
    expect(res.status).toBe(200);
    expect(pool.calls.map((c) => c.url.pathname)).toEqual([
      poolPathOf("generation"),
      poolPathOf("generation", 1),
    ]);
    expect(pool.calls[1].url.host).toBe(pool.calls[0].url.host);
    expect(pool.calls[1].body).toEqual(pool.calls[0].body);
  });

  it("treats a runner that knows neither version as unavailable", async () => {
    pool.handler = async () => Response.json({}, { status: 404 });
    await expect503(await generate({ prompt: "a red circle", seed: uniqueSeed() }));
  });
});

describe("pool failures", () => {
  it("signs every request and sends the resolved job with a deadline", async () => {
    await generate({ prompt: "a red circle", seed: uniqueSeed() });
    const call = pool.calls[0];
    expect(call.headers.get("x-unclip-signature")).toMatch(/^[0-9a-f]{64}$/);
    expect(call.body).toMatchObject({
      prompt: "a red circle",
      n: 1,
      size: "256x256",
      deadline: expect.any(Number),
      cache_key: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
  });

  it("retries a busy runner on the other one and succeeds", async () => {
    let first = true;
    pool.handler = async (call, signal) => {
      if (first) {
        first = false;
        return busy(1)(call, signal);
      }
      return renders(call, signal);
    };
    const res = await generate({ prompt: "a red circle", seed: uniqueSeed() });
    expect(res.status).toBe(200);
    expect(pool.calls).toHaveLength(2);
    expect(pool.calls[0].url.host).not.toBe(pool.calls[1].url.host);
  });

  it("answers 503 + retry-after when every runner stays busy, and stores nothing", async () => {
    pool.handler = busy(1);
    const res = await generate({ prompt: "a red circle", seed: uniqueSeed() });
    await expect503(res);
    expect(pool.calls).toHaveLength(3); // POOL_MAX_ATTEMPTS in the test config
    expect(await objectsUnder(res.headers.get("x-unclip-cache-key"))).toHaveLength(0);
  });

  it("does not ask a runner again before its retry-after has passed", async () => {
    const times: number[] = [];
    pool.handler = async (call, signal) => {
      times.push(Date.now());
      return busy(1)(call, signal);
    };
    await expect503(await generate({ prompt: "a red circle", seed: uniqueSeed() }));
    expect(pool.calls[2].url.host).toBe(pool.calls[0].url.host);
    expect(times[2] - times[0]).toBeGreaterThanOrEqual(1000);
  });

  it("answers 503 + retry-after when no runner can be reached", async () => {
    pool.handler = unreachable;
    const error = await expect503(await generate({ prompt: "a red circle", seed: uniqueSeed() }));
    expect(error.message).toMatch(/unavailable/);
  });

  it("answers 503 + retry-after when the pool is slower than POOL_TIMEOUT_MS", async () => {
    pool.handler = hangs;
    const started = Date.now();
    const res = await generate({ prompt: "a red circle", seed: uniqueSeed() });
    const error = await expect503(res);
    expect(error.message).toMatch(/did not answer within 1500 ms/);
    expect(Date.now() - started).toBeLessThan(4000);
    expect(await objectsUnder(res.headers.get("x-unclip-cache-key"))).toHaveLength(0);
  });

  it("refuses an image whose bytes do not match the pool's sha256 and stores none of the job", async () => {
    pool.handler = async (call) => {
      const answer = await renderedResponse(call);
      answer.images[1].png_b64 = answer.images[1].png_b64.slice(0, -8); // truncated in transit
      return Response.json(answer);
    };
    const res = await generate({ prompt: "a red circle", seed: uniqueSeed(), n: 3 });
    expect(res.status).toBe(502);
    expect((await errorOf(res)).code).toBe("bad_pool_response");
    expect(await objectsUnder(res.headers.get("x-unclip-cache-key"))).toHaveLength(0);
  });

  it("refuses an answer with missing images or a wrong size", async () => {
    const tamper: Array<PoolHandler> = [
      async (call) => {
        const answer = await renderedResponse(call);
        answer.images.pop();
        return Response.json(answer);
      },
      async (call) => {
        const answer = await renderedResponse(call);
        answer.images[0].width = 64;
        return Response.json(answer);
      },
    ];
    for (const handler of tamper) {
      pool.handler = handler;
      const res = await generate({ prompt: "a red circle", seed: uniqueSeed(), n: 2 });
      expect(res.status).toBe(502);
      expect(await objectsUnder(res.headers.get("x-unclip-cache-key"))).toHaveLength(0);
    }
  });

  it("passes a pool 400 on with its param, and a pool 401 as a server misconfiguration", async () => {
    pool.handler = async () =>
      Response.json(
        {
          error: {
            message: "Invalid 'prompt': too many tokens",
            type: "invalid_request_error",
            param: "prompt",
            code: "invalid_value",
          },
        },
        { status: 400 },
      );
    const bad = await generate({ prompt: "a red circle", seed: uniqueSeed() });
    expect(bad.status).toBe(400);
    expect((await errorOf(bad)).param).toBe("prompt");
    pool.handler = async () =>
      Response.json(
        {
          error: {
            message: "bad signature",
            type: "authentication_error",
            param: null,
            code: null,
          },
        },
        { status: 401 },
      );
    const misconfigured = await generate({ prompt: "a red circle", seed: uniqueSeed() });
    expect(misconfigured.status).toBe(500);
    expect((await errorOf(misconfigured)).code).toBe("pool_misconfigured");
  });

  it("lets all waiters of a failed flight see the 503, then renders on the next request", async () => {
    pool.handler = busy(1);
    const body = { prompt: "a red circle", seed: uniqueSeed() };
    const failed = await Promise.all(Array.from({ length: 4 }, () => generate(body)));
    expect(failed.map((r) => r.status)).toEqual([503, 503, 503, 503]);
    expect(pool.calls).toHaveLength(3);
    pool.handler = renders;
    expect((await generate(body)).status).toBe(200);
  });
});
