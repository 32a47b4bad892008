// Issue 5/6 fault tests against real processes: a runner that is down, too slow, killed with
// SIGKILL or stopped with SIGTERM in the middle of a load, and the per-key token bucket.
// Every request must end with an image or a retryable 503, and R2 must never hold a partial
// entry (a key without all its images).
import { mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { freePort, type Stack, signal, startStack } from "../scripts/stack.ts";
import { isPng, postJson, signedImageUrl, uniqueSeed } from "./support.ts";

const GENERATIONS = "/v1/images/generations";
const stacks: Array<{ stack: Stack; dir: string }> = [];

async function stackWith(options: Parameters<typeof startStack>[0]): Promise<Stack> {
  const dir = mkdtempSync(join(inject("stateDir"), "fault-"));
  const stack = await startStack({ bundle: "models/tiny-test", stateDir: dir, ...options });
  stacks.push({ stack, dir });
  return stack;
}

afterAll(async () => {
  for (const { stack, dir } of stacks) {
    await stack.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

/** Every image of a key is stored, or none is. */
async function expectWholeOrAbsent(edgeUrl: string, key: string, n: number, stored: boolean) {
  for (let i = 0; i < n; i++) {
    const res = await fetch(await signedImageUrl(edgeUrl, key, i));
    expect(res.status, `${key}/${i}.png`).toBe(stored ? 200 : 404);
    if (stored) expect(isPng(new Uint8Array(await res.arrayBuffer()))).toBe(true);
    else await res.arrayBuffer();
  }
}

async function expectRetryable503(res: Response) {
  expect(res.status).toBe(503);
  expect(Number(res.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
  const body = (await res.json()) as { error: { code: string; type: string } };
  expect(body.error.type).toBe("server_error");
}

describe("when the pool cannot answer", () => {
  let down: Stack;
  beforeAll(async () => {
    const closedPort = await freePort();
    down = await stackWith({
      runners: 0,
      edgeVars: {
        POOL_URL: `http://127.0.0.1:${closedPort}`,
        POOL_MAX_ATTEMPTS: "2",
        POOL_TIMEOUT_MS: "3000",
        RATE_LIMIT_BURST_UNITS: "12",
        RATE_LIMIT_UNITS_PER_MINUTE: "1",
      },
    });
  });

  it("answers 503 with retry-after when no runner is up, and stores nothing", async () => {
    const res = await postJson(down.edgeUrl, GENERATIONS, {
      prompt: "a red circle",
      n: 2,
      seed: uniqueSeed(),
    });
    const key = res.headers.get("x-unclip-cache-key");
    await expectRetryable503(res);
    expect(key).toMatch(/^[0-9a-f]{64}$/);
    await expectWholeOrAbsent(down.edgeUrl, key!, 2, false);
  });

  it("never lets concurrent requests overdraw the key's token bucket", async () => {
    // 12 burst units left at most; 20 concurrent one-unit requests: at most 12 get past.
    const answers = await Promise.all(
      Array.from({ length: 20 }, () =>
        postJson(down.edgeUrl, GENERATIONS, { prompt: "a blue circle", seed: uniqueSeed() }),
      ),
    );
    const limited = answers.filter((r) => r.status === 429);
    expect(answers.length - limited.length).toBeLessThanOrEqual(12);
    expect(limited.length).toBeGreaterThanOrEqual(8);
    const body = (await limited[0].json()) as { error: { code: string } };
    expect(body.error.code).toBe("rate_limit_exceeded");
    expect(Number(limited[0].headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect(limited[0].headers.get("x-ratelimit-remaining-requests")).not.toBeNull();
    await Promise.all(answers.map((r) => r.arrayBuffer().catch(() => undefined)));
  });
});

describe("when the runner is too slow for the edge's timeout", () => {
  it("answers 503 with retry-after and leaves no partial entry in R2", async () => {
    const slow = await stackWith({
      runners: 1,
      edgeVars: { POOL_TIMEOUT_MS: "60", POOL_MAX_ATTEMPTS: "1" },
    });
    const res = await postJson(slow.edgeUrl, GENERATIONS, {
      prompt: "three green squares",
      n: 4,
      steps: 40,
      seed: uniqueSeed(),
    });
    const key = res.headers.get("x-unclip-cache-key")!;
    await expectRetryable503(res);
    // Give a late answer the chance to (wrongly) land before looking.
    await new Promise((r) => setTimeout(r, 3000));
    await expectWholeOrAbsent(slow.edgeUrl, key, 4, false);
  });
});

describe("a runner dies or is stopped under load", () => {
  async function loadWhile(stack: Stack, count: number, during: () => void) {
    const requests = Array.from({ length: count }, (_, i) =>
      postJson(stack.edgeUrl, GENERATIONS, {
        prompt: i % 2 ? "a red circle on a blue background" : "two yellow triangles",
        n: 2,
        steps: 12,
        seed: uniqueSeed(),
      }),
    );
    setTimeout(during, 400);
    return Promise.all(requests);
  }

  it("SIGKILL: every request ends with images or a retryable 503, nothing partial, then the survivor serves", async () => {
    const stack = await stackWith({ runners: 2, edgeVars: { POOL_MAX_ATTEMPTS: "3" } });
    const answers = await loadWhile(stack, 12, () => signal(stack.runners[0], "SIGKILL"));
    let ok = 0;
    for (const res of answers) {
      const key = res.headers.get("x-unclip-cache-key")!;
      if (res.status === 200) {
        ok++;
        await res.arrayBuffer();
        await expectWholeOrAbsent(stack.edgeUrl, key, 2, true);
      } else {
        await expectRetryable503(res);
        await expectWholeOrAbsent(stack.edgeUrl, key, 2, false);
      }
    }
    expect(ok).toBeGreaterThan(0);
    for (let i = 0; i < 3; i++) {
      const res = await postJson(stack.edgeUrl, GENERATIONS, {
        prompt: "a white square",
        seed: uniqueSeed(),
      });
      expect(res.status).toBe(200);
      await res.arrayBuffer();
    }
  });

  it("SIGTERM: the runner drains what it holds and no request is lost", async () => {
    const stack = await stackWith({ runners: 2, edgeVars: { POOL_MAX_ATTEMPTS: "4" } });
    const draining = stack.runners[0];
    const exited = new Promise<number | null>((r) =>
      draining.child.once("exit", (code) => r(code)),
    );
    const answers = await loadWhile(stack, 10, () => signal(draining, "SIGTERM"));
    expect(answers.map((r) => r.status)).toEqual(Array(10).fill(200));
    for (const res of answers) {
      await res.arrayBuffer();
      await expectWholeOrAbsent(stack.edgeUrl, res.headers.get("x-unclip-cache-key")!, 2, true);
    }
    expect(await exited).toBe(0);
  });
});
