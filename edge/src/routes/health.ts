// GET /healthz (the Worker is up, and which bundle it serves) and GET /readyz (at least one
// runner of POOL_URL is ready with that same bundle), for the local stack and for operators.
import { z } from "zod";
import { servedBundle } from "../bundle/index.ts";
import { configOf } from "../config.ts";
import { endpoint } from "../http/endpoint.ts";
import { jsonResponse } from "../http/openapi.ts";

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

const runnerReadinessSchema = z.object({
  url: z.string(),
  ready: z.boolean(),
  bundle: z.string().nullable(),
  detail: z.string().optional(),
});
const readinessSchema = z.object({
  ready: z.boolean(),
  bundle: z.string(),
  runners: z.array(runnerReadinessSchema),
});

export const healthz = endpoint(
  "get",
  "/healthz",
  {
    summary: "The Worker is up, and which bundle it serves",
    responses: {
      200: jsonResponse(z.object({ ok: z.literal(true), bundle: z.string() }), "Up"),
    },
  },
  (c) => c.json({ ok: true, bundle: servedBundle.id }),
);

export const readyz = endpoint(
  "get",
  "/readyz",
  {
    summary: "At least one runner of POOL_URL is ready with the served bundle",
    responses: {
      200: jsonResponse(readinessSchema, "Ready"),
      503: jsonResponse(readinessSchema, "No runner is ready"),
    },
  },
  async (c) => {
    const runners = await Promise.all(configOf(c.env).POOL_URL.map(runnerReadiness));
    const ready = runners.some((runner) => runner.ready);
    return c.json({ ready, bundle: servedBundle.id, runners }, ready ? 200 : 503);
  },
);
