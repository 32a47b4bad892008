// Issue 5/6 fault tests against real processes: a runner that is down, too slow, killed with
// SIGKILL or stopped with SIGTERM while it holds jobs (observed on its /metrics, not assumed
// from a timer), and the per-key token bucket. Every request must end with an image or a
// retryable 503, and R2 must never hold a partial entry (a key without all its images).
import { type AddressInfo, createServer, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { freePort, type ManagedProcess, type Stack, signal } from "../scripts/stack.ts";
import { isPng, metricValue, ownStacks, postJson, signedImageUrl, uniqueSeed } from "./support.ts";

const GENERATIONS = "/v1/images/generations";
const stackWith = ownStacks(inject("stateDir"), "fault-");

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
  let hung: Stack;
  // A pool that takes connections and never answers: a request that got past the token bucket
  // holds its units until POOL_TIMEOUT_MS. With a pool that refuses at once, the units of the
  // first 503s came back (refunded) while later requests of the same burst still arrived.
  const silentPool = createServer((socket) => heldOpen.add(socket));
  const heldOpen = new Set<Socket>();
  beforeAll(async () => {
    await new Promise<void>((r) => silentPool.listen(0, "127.0.0.1", r));
    const silentPort = (silentPool.address() as AddressInfo).port;
    const closedPort = await freePort();
    [down, hung] = await Promise.all([
      stackWith({
        runners: 0,
        edgeVars: {
          POOL_URL: `http://127.0.0.1:${closedPort}`,
          POOL_MAX_ATTEMPTS: "2",
          POOL_TIMEOUT_MS: "3000",
        },
      }),
      stackWith({
        runners: 0,
        edgeVars: {
          POOL_URL: `http://127.0.0.1:${silentPort}`,
          POOL_MAX_ATTEMPTS: "1",
          POOL_TIMEOUT_MS: "5000",
          RATE_LIMIT_BURST_UNITS: "12",
          RATE_LIMIT_UNITS_PER_MINUTE: "1",
        },
      }),
    ]);
  });
  afterAll(() => {
    for (const socket of heldOpen) socket.destroy();
    silentPool.close();
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
    // 12 burst units; 20 concurrent one-unit requests: at most 12 get past (and wait on the
    // silent pool until their 503), the others get 429.
    const answers = await Promise.all(
      Array.from({ length: 20 }, () =>
        postJson(hung.edgeUrl, GENERATIONS, { prompt: "a blue circle", seed: uniqueSeed() }),
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
  interface Tracked {
    seed: number;
    answer: Promise<Response>;
    settled: boolean;
  }

  /** Sends `count` different two-image misses at once; each records when its answer came. */
  function startLoad(stack: Stack, count: number): Tracked[] {
    return Array.from({ length: count }, (_, i) => {
      const seed = uniqueSeed();
      const tracked: Tracked = { seed, answer: Promise.resolve(new Response()), settled: false };
      tracked.answer = postJson(stack.edgeUrl, GENERATIONS, {
        prompt: i % 2 ? "a red circle on a blue background" : "two yellow triangles",
        n: 2,
        steps: 12,
        seed,
      }).finally(() => {
        tracked.settled = true;
      });
      return tracked;
    });
  }

  /**
   * Polls the runners' /metrics until every request of the load was taken by a runner (no
   * more will be sent anywhere) and `runner` holds at least `images` images (queued or being
   * generated; a job's n images are held until the job ends). Returns what it held. Fails if
   * the load finished first: a signal sent then would prove nothing.
   */
  async function whenTakenAndHolding(
    stack: Stack,
    load: Tracked[],
    runner: ManagedProcess,
    images: number,
  ): Promise<number> {
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline && !load.every((r) => r.settled)) {
      const taken = await Promise.all(
        stack.runners.map((r) => metricValue(r.url, "unclip_jobs_total")),
      );
      const held = await metricValue(runner.url, "unclip_queue_depth");
      if (held >= images && taken.reduce((a, b) => a + b, 0) >= load.length) return held;
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error(`${runner.name} never held ${images} images once the load was taken`);
  }

  /** Waits until at least `count` requests are answered and then none for `quietMs`. */
  async function untilSettled(load: Tracked[], count: number, quietMs: number) {
    const settledNow = () => load.filter((r) => r.settled).length;
    const deadline = Date.now() + 90_000;
    let settled = -1;
    let quietSince = Date.now();
    while (Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      if (settledNow() !== settled) {
        settled = settledNow();
        quietSince = Date.now();
      } else if (settled >= count && Date.now() - quietSince >= quietMs) {
        return;
      }
    }
    throw new Error(`only ${settledNow()} of the ${count} answers due came`);
  }

  async function expectEndedWell(stack: Stack, res: Response): Promise<boolean> {
    const key = res.headers.get("x-unclip-cache-key")!;
    if (res.status === 200) {
      await res.arrayBuffer();
      await expectWholeOrAbsent(stack.edgeUrl, key, 2, true);
      return true;
    }
    await expectRetryable503(res);
    await expectWholeOrAbsent(stack.edgeUrl, key, 2, false);
    return false;
  }

  it("SIGKILL: the requests the killed runner held end with the survivor's images or a retryable 503, nothing partial", async () => {
    const stack = await stackWith({ runners: 2, edgeVars: { POOL_MAX_ATTEMPTS: "3" } });
    const [doomed, survivor] = stack.runners;
    const load = startLoad(stack, 12);
    const heldImages = await whenTakenAndHolding(stack, load, doomed, 2);
    // Frozen first, so that nothing it holds can finish between freezing and killing. Every
    // request was taken by a runner, so all but the doomed runner's held jobs (2 images each)
    // get answered; the quiet period covers a job it may have finished between the look and
    // the freeze. The requests still waiting then are exactly those it held.
    signal(doomed, "SIGSTOP");
    const heldJobs = heldImages / 2;
    await untilSettled(load, load.length - heldJobs, 2_000);
    const held = load.filter((r) => !r.settled);
    expect(held.length).toBeGreaterThan(0);
    expect(held.length).toBeLessThanOrEqual(heldJobs);
    const survivorJobsBefore = await metricValue(survivor.url, "unclip_jobs_total");
    signal(doomed, "SIGKILL");

    const answers = await Promise.all(load.map((r) => r.answer));
    const survivorJobsAfter = await metricValue(survivor.url, "unclip_jobs_total");
    let heldWithImages = 0;
    for (const [i, res] of answers.entries()) {
      const withImages = await expectEndedWell(stack, res);
      if (withImages && held.includes(load[i])) heldWithImages++;
    }
    // The dead runner made none of them: every held request with images was a job on the
    // survivor, accepted after the kill.
    expect(survivorJobsAfter - survivorJobsBefore).toBeGreaterThanOrEqual(heldWithImages);
    expect(heldWithImages).toBeGreaterThan(0);
    console.log(
      `SIGKILL: ${doomed.name} held ${heldImages} images; ${held.length} of ${load.length} requests waited on it, ${heldWithImages} ended with the survivor's images`,
    );
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
    const load = startLoad(stack, 10);
    await whenTakenAndHolding(stack, load, draining, 2);
    signal(draining, "SIGTERM");
    const answers = await Promise.all(load.map((r) => r.answer));
    expect(answers.map((r) => r.status)).toEqual(Array(10).fill(200));
    for (const res of answers) expect(await expectEndedWell(stack, res)).toBe(true);
    expect(await exited).toBe(0);
    // What it held when the signal came, in its own log line (gpu-runner/src/main.ts).
    const drained = draining.log
      .join("")
      .match(/"msg":"draining","signal":"SIGTERM","held_images":(\d+)/);
    expect(Number(drained?.[1])).toBeGreaterThan(0);
  });
});
