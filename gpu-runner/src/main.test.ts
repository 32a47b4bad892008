// The real server process (npx tsx gpu-runner/src/main.ts) with the tiny bundle: it serves a
// signed job, and on SIGTERM turns not-ready, refuses new work, finishes what it holds, exits 0.
import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { poolPathOf, signRequest } from "@unclip/shared";
import { afterAll, describe, expect, it } from "vitest";
import { generateRequest } from "./testing/requests.ts";
import { TINY_BUNDLE_DIR } from "./testing/tinyBundle.ts";

const root = fileURLToPath(new URL("../..", import.meta.url));
const tsxCli = fileURLToPath(new URL("../../node_modules/tsx/dist/cli.mjs", import.meta.url));
const secret = "main-test-secret";
const port = 20_000 + Math.floor(Math.random() * 20_000);
const base = `http://127.0.0.1:${port}`;

function startServer(env: Record<string, string>): { child: ChildProcess; output: () => string } {
  let output = "";
  const child = spawn(process.execPath, [tsxCli, "gpu-runner/src/main.ts"], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout!.on("data", (d) => {
    output += d;
  });
  child.stderr!.on("data", (d) => {
    output += d;
  });
  return { child, output: () => output };
}

async function until(check: () => boolean | Promise<boolean>, timeoutMs: number) {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error("condition not met in time");
}

async function post(path: string, body: unknown) {
  const text = JSON.stringify(body);
  const headers = await signRequest(secret, { method: "POST", path, body: text });
  return fetch(base + path, {
    method: "POST",
    body: text,
    headers: { "content-type": "application/json", ...headers },
  });
}

describe("the server process", () => {
  const started: ChildProcess[] = [];
  afterAll(() => {
    for (const child of started) if (child.exitCode === null) child.kill("SIGKILL");
  });

  it("refuses to start naming every bad variable", async () => {
    const { child, output } = startServer({ UNCLIP_PORT: "nope", UNCLIP_MAX_BATCH: "-1" });
    started.push(child);
    const code = await new Promise((r) => child.on("exit", r));
    expect(code).toBe(1);
    expect(output()).toMatch(/UNCLIP_PORT[\s\S]*UNCLIP_MAX_BATCH/);
  });

  it("finishes held work on SIGTERM, refusing new jobs, then exits 0", async () => {
    const { child, output } = startServer({
      UNCLIP_PORT: String(port),
      UNCLIP_HOST: "127.0.0.1",
      UNCLIP_BUNDLE: TINY_BUNDLE_DIR,
      UNCLIP_POOL_SECRET: secret,
      UNCLIP_INTRA_OP_THREADS: "1",
    });
    started.push(child);
    const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
    await until(() => /ready/.test(output()), 45_000);
    const readyz = await fetch(`${base}/readyz`);
    expect(readyz.status).toBe(200);
    const bundle = (await (await fetch(`${base}/v1/bundle`)).json()).id as string;

    // A job long enough to still be running when SIGTERM arrives.
    const held = post(
      poolPathOf("generation"),
      generateRequest(bundle, { n: 2, size: "32x32", prior_steps: 50, decoder_steps: 150 }),
    );
    await until(async () => {
      const metrics = await (await fetch(`${base}/metrics`)).text();
      return /unclip_queue_depth [1-9]/.test(metrics);
    }, 10_000);
    child.kill("SIGTERM");
    await until(() => /draining/.test(output()), 20_000);

    expect((await fetch(`${base}/readyz`)).status).toBe(503);
    const refused = await post(
      poolPathOf("generation"),
      generateRequest(bundle, { size: "32x32" }),
    );
    expect(refused.status).toBe(503);
    expect(refused.headers.get("retry-after")).toBeTruthy();

    const done = await held;
    expect(done.status).toBe(200);
    expect((await done.json()).images).toHaveLength(2);
    expect(await exited).toBe(0);
    expect(output()).toMatch(/drained, exiting/);
  });
});
