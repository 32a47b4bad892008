// GET /healthz (the Worker is up, and which bundle it serves) and GET /readyz (at least one
// runner of POOL_URL is ready with that same bundle), for the local stack and for operators.
import { Hono } from "hono";
import { servedBundle } from "../bundle/index.ts";
import { configOf } from "../config.ts";
import type { AppEnv } from "../types.ts";

export interface RunnerReadiness {
  url: string;
  ready: boolean;
  bundle: string | null;
  detail?: string;
}

const READY_TIMEOUT_MS = 2_000;

export async function runnerReadiness(url: string): Promise<RunnerReadiness> {
  const base = url.replace(/\/+$/, "");
  try {
    const res = await fetch(`${base}/readyz`, { signal: AbortSignal.timeout(READY_TIMEOUT_MS) });
    const body = (await res.json().catch(() => ({}))) as { ready?: unknown; bundle?: unknown };
    const bundle = typeof body.bundle === "string" ? body.bundle : null;
    if (!res.ok || body.ready !== true) {
      return { url, ready: false, bundle, detail: `readyz answered ${res.status}` };
    }
    if (bundle !== servedBundle.id) {
      return { url, ready: false, bundle, detail: `serves ${bundle}, not ${servedBundle.id}` };
    }
    return { url, ready: true, bundle };
  } catch (error) {
    return { url, ready: false, bundle: null, detail: `unreachable: ${String(error)}` };
  }
}

export const health = new Hono<AppEnv>()
  .get("/healthz", (c) => c.json({ ok: true, bundle: servedBundle.id }))
  .get("/readyz", async (c) => {
    const runners = await Promise.all(configOf(c.env).POOL_URL.map(runnerReadiness));
    const ready = runners.some((runner) => runner.ready);
    return c.json({ ready, bundle: servedBundle.id, runners }, ready ? 200 : 503);
  });
