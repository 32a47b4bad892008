import { SELF } from "cloudflare:test";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { servedBundle } from "../src/bundle/index.ts";
import { ORIGIN } from "./helpers.ts";
import { FakePool } from "./pool.ts";

let pool: FakePool;
beforeEach(() => {
  pool = new FakePool().install();
});
afterEach(() => pool.restore());

describe("health", () => {
  it("says the Worker is up and which bundle it serves", async () => {
    const res = await SELF.fetch(`${ORIGIN}/healthz`);
    expect(await res.json()).toEqual({ ok: true, bundle: servedBundle.id });
  });

  it("is ready when a runner is ready with the same bundle", async () => {
    pool.readiness = (host) =>
      host === "pool-a.test"
        ? Response.json({ ready: false }, { status: 503 })
        : Response.json({ ready: true, bundle: servedBundle.id });
    const res = await SELF.fetch(`${ORIGIN}/readyz`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { runners: Array<{ ready: boolean }> };
    expect(body.runners.map((r) => r.ready)).toEqual([false, true]);
  });

  it("is not ready when every runner serves another bundle, and says so", async () => {
    pool.readiness = () => Response.json({ ready: true, bundle: "emoji@9" });
    const res = await SELF.fetch(`${ORIGIN}/readyz`);
    expect(res.status).toBe(503);
    const body = (await res.json()) as { runners: Array<{ detail: string }> };
    expect(body.runners[0].detail).toMatch(/serves emoji@9, not /);
  });
});
