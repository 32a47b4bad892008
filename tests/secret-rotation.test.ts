// Both secrets rotated while requests flow, on real processes (two runners, the edge in
// Miniflare), following infra/DEPLOY.md "Rotating the secrets" step by step:
//   1. runners restart one at a time accepting the new pool secret and the old one;
//   2. the edge switches to the new pool secret and the new image URL secret, keeping the old
//      URL secret as IMAGE_URL_SECRET_PREVIOUS;
//   3. runners restart with the new pool secret alone; 4. the edge drops the previous URL secret.
// Every request must succeed, every URL handed out must load until step 4, and no runner may
// refuse a signature. Restarting the local edge process stands in for a Worker deployment:
// Cloudflare swaps versions atomically, so traffic is held (not cut) while it restarts.
import { mkdtempSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { signRequest } from "@unclip/shared";
import { afterAll, expect, inject, it } from "vitest";
import { signImageObject } from "../edge/src/storage/signedUrl.ts";
import {
  freePort,
  type ManagedProcess,
  REPO_ROOT,
  startEdge,
  startRunner,
  stopProcess,
  waitReady,
} from "../scripts/stack.ts";
import { authHeaders, isPng } from "./support.ts";

const BUNDLE = resolve(REPO_ROOT, "models/tiny-test");
const POOL_OLD = "pool-secret-before-rotation";
const POOL_NEW = "pool-secret-after-rotation";
const URL_OLD = "image-url-secret-before-rotation";
const URL_NEW = "image-url-secret-after-rotation";
const READY_MS = 120_000;
/** One request or image fetch; one step of the rotation. A stuck one fails with its name. */
const REQUEST_MS = 60_000;
const STEP_MS = 180_000;

const dir = mkdtempSync(join(inject("stateDir"), "rotation-"));
const running = new Set<ManagedProcess>();
afterAll(async () => {
  await Promise.all([...running].map((p) => stopProcess(p)));
  rmSync(dir, { recursive: true, force: true });
});

interface Served {
  status: number;
  /** The image URL the answer carried, and the step it was handed out in. */
  url?: string;
  step: string;
}

it("rotates the pool secret and the image URL secret with nothing in flight broken", async () => {
  const [portA, portB, edgePort] = [await freePort(), await freePort(), await freePort()];
  /** Signatures each runner refused, read before it is replaced. */
  let refusedSignatures = 0;

  const runnerAt = async (port: number, name: string, env: Record<string, string>) => {
    const runner = startRunner(port, BUNDLE, env, false, name);
    running.add(runner);
    await waitReady(runner, "/readyz", READY_MS);
    return runner;
  };
  const replaceRunner = async (old: ManagedProcess, env: Record<string, string>) => {
    refusedSignatures += await unauthorizedOn(old);
    await stopProcess(old); // SIGTERM: it drains, the edge fails over to the other runner
    running.delete(old);
    return runnerAt(old.port, old.name, env);
  };
  const edgeWith = async (vars: Record<string, string>) => {
    const edge = startEdge(edgePort, BUNDLE, dir, {
      POOL_URL: `http://127.0.0.1:${portA},http://127.0.0.1:${portB}`,
      // The traffic below is one client for a few minutes: no rate limit in its way.
      EDGE_RATE_LIMIT_ENABLED: "false",
      RATE_LIMIT_UNITS_PER_MINUTE: "100000",
      RATE_LIMIT_BURST_UNITS: "100000",
      ...vars,
    });
    running.add(edge);
    await waitReady(edge, "/healthz", READY_MS);
    return edge;
  };

  let step = "before";
  let [runnerA, runnerB] = await Promise.all([
    runnerAt(portA, "runner-a", { UNCLIP_POOL_SECRET: POOL_OLD }),
    runnerAt(portB, "runner-b", { UNCLIP_POOL_SECRET: POOL_OLD }),
  ]);
  let edge = await edgeWith({ POOL_SECRET: POOL_OLD, IMAGE_URL_SECRET: URL_OLD });

  // Traffic: one client after another, each image fetched from its URL as soon as it comes.
  const served: Served[] = [];
  let stopping = false;
  /** Set while the edge is being redeployed: the client waits before its next request. */
  let gate: Promise<void> | undefined;
  /** The client's current request (resolved between requests). */
  let current: Promise<void> = Promise.resolve();
  let seed = 1;
  const traffic = (async () => {
    while (!stopping) {
      // Re-checked after waking: `current` is claimed in the same turn the gate is seen open,
      // so a redeploy either waits for this request or this request waits for the redeploy.
      while (gate) await gate;
      let finished = () => {};
      current = new Promise<void>((r) => {
        finished = r;
      });
      try {
        const during = step;
        const res = await fetch(`${edge.url}/v1/images/generations`, {
          method: "POST",
          headers: { ...authHeaders(), "content-type": "application/json" },
          body: JSON.stringify({ prompt: "a red circle", size: "32x32", seed: seed++ }),
          signal: AbortSignal.timeout(REQUEST_MS),
        });
        const body = (await res.json()) as { data?: { url: string }[] };
        const url = body.data?.[0]?.url;
        if (url) {
          const image = await fetch(url, { signal: AbortSignal.timeout(REQUEST_MS) });
          expect(image.status, `${url} right away`).toBe(200);
        }
        served.push({ status: res.status, url, step: during });
      } finally {
        finished();
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  let trafficFailure: unknown;
  traffic.catch((error: unknown) => {
    trafficFailure = error;
  });
  const servedIn = async (name: string, count = 2) => {
    const deadline = Date.now() + STEP_MS;
    while (served.filter((s) => s.step === name).length < count) {
      if (trafficFailure) throw trafficFailure;
      if (Date.now() > deadline) {
        throw new Error(`fewer than ${count} requests answered in step "${name}" in ${STEP_MS} ms`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  /** Restarts the edge between two requests, as a Worker deployment switches versions. */
  // (It used to wait for the next answer to arrive; when the client was between requests it
  // was itself waiting on the gate, and the two waited for each other until the test timed out.)
  const redeployEdge = async (vars: Record<string, string>) => {
    let release = () => {};
    gate = new Promise<void>((r) => {
      release = r;
    });
    await current;
    await stopProcess(edge);
    running.delete(edge);
    edge = await edgeWith(vars);
    gate = undefined;
    release();
  };

  await servedIn("before");

  // 1. Runners accept the new secret and the old one; the edge still signs with the old.
  step = "runners accept both";
  const rotating = { UNCLIP_POOL_SECRET: POOL_NEW, UNCLIP_POOL_SECRET_PREVIOUS: POOL_OLD };
  runnerB = await replaceRunner(runnerB, rotating);
  runnerA = await replaceRunner(runnerA, rotating);
  await servedIn(step);

  // 2. The edge signs with the new pool secret and new URLs with the new URL secret.
  step = "edge switched";
  await redeployEdge({
    POOL_SECRET: POOL_NEW,
    IMAGE_URL_SECRET: URL_NEW,
    IMAGE_URL_SECRET_PREVIOUS: URL_OLD,
  });
  await servedIn(step);

  // 3. The runners drop the old pool secret.
  step = "runners rotated";
  runnerB = await replaceRunner(runnerB, { UNCLIP_POOL_SECRET: POOL_NEW });
  runnerA = await replaceRunner(runnerA, { UNCLIP_POOL_SECRET: POOL_NEW });
  await servedIn(step);

  stopping = true;
  await traffic;

  expect(served.filter((s) => s.status !== 200)).toEqual([]);
  refusedSignatures += (await unauthorizedOn(runnerA)) + (await unauthorizedOn(runnerB));
  expect(refusedSignatures, "signatures refused by a runner during the rotation").toBe(0);

  // Every URL handed out so far still loads, those signed with the old secret included.
  const signedBefore = served.filter(
    (s) => s.step === "before" || s.step === "runners accept both",
  );
  const signedAfter = served.filter(
    (s) => s.step === "edge switched" || s.step === "runners rotated",
  );
  for (const { url } of [...signedBefore, ...signedAfter]) {
    const res = await fetch(url!);
    expect(res.status, url).toBe(200);
    expect(isPng(new Uint8Array(await res.arrayBuffer()))).toBe(true);
  }
  // The old pool secret is refused now, as is a URL signed with a secret the edge never had.
  expect(await signedPost(runnerA, POOL_OLD)).toBe(401);
  expect(await signedPost(runnerA, POOL_NEW)).not.toBe(401);
  const forged = new URL(signedAfter[0].url!);
  const grant = await signImageObject("a-secret-nobody-configured", objectOf(forged), 600);
  forged.search = `expires=${grant.expires}&signature=${grant.signature}`;
  expect((await fetch(forged)).status).toBe(403);

  // 4. The last URL signed with the old secret has expired: the edge drops it, and refuses it.
  await redeployEdge({ POOL_SECRET: POOL_NEW, IMAGE_URL_SECRET: URL_NEW });
  for (const { url } of signedBefore) expect((await fetch(url!)).status, url).toBe(403);
  for (const { url } of signedAfter) expect((await fetch(url!)).status, url).toBe(200);
}, 600_000);

async function unauthorizedOn(runner: ManagedProcess): Promise<number> {
  const text = await (await fetch(`${runner.url}/metrics`)).text();
  return Number(/^unclip_errors_total\{kind="unauthorized"\} (\d+)/m.exec(text)?.[1] ?? 0);
}

/** A job request to a runner signed with `secret` (body invalid on purpose: only auth counts). */
async function signedPost(runner: ManagedProcess, secret: string): Promise<number> {
  const path = "/v2/generation";
  const body = "{}";
  const headers = await signRequest(secret, { method: "POST", path, body });
  return (await fetch(`${runner.url}${path}`, { method: "POST", headers, body })).status;
}

/** `<key>/<i>.png` of an image URL. */
function objectOf(url: URL): string {
  return url.pathname.replace(/^\/v1\/images\//, "");
}
