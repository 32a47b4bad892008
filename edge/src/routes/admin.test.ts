// GET /v1/admin/usage: the RateLimiter's counts for the admin token only.
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { sha256Hex } from "@unclip/shared";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { errorOf, generate, newApiKey, ORIGIN, uniqueSeed } from "../../test/helpers.ts";
import { FakePool } from "../../test/pool.ts";
import { app } from "../app.ts";

const ADMIN_TOKEN = "admin-token-for-tests";

async function usage(query: string, token: string | null, adminHash?: string) {
  const ctx = createExecutionContext();
  const adminEnv = { ...env, ADMIN_TOKEN_SHA256: adminHash ?? (await sha256Hex(ADMIN_TOKEN)) };
  const res = await app.fetch(
    new Request(`${ORIGIN}/v1/admin/usage?${query}`, {
      headers: token ? { authorization: `Bearer ${token}` } : {},
    }),
    adminEnv as Env,
    ctx,
  );
  await waitOnExecutionContext(ctx);
  return res;
}

describe("GET /v1/admin/usage", () => {
  let pool: FakePool;
  beforeEach(() => {
    pool = new FakePool().install();
  });
  afterEach(() => pool.restore());

  it("answers a key's units and requests per UTC day to the admin token", async () => {
    const key = await newApiKey({ burst: 100 });
    const hash = await sha256Hex(key);
    expect(
      (await generate({ prompt: "a red circle", seed: uniqueSeed(), size: "512x512" }, key)).status,
    ).toBe(200);
    const res = await usage(`key=${hash}&days=2`, ADMIN_TOKEN);
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      key: string;
      data: { day: string; units: number; requests: number }[];
    };
    expect(body.key).toBe(hash);
    expect(body.data).toHaveLength(2);
    expect(body.data[0]).toEqual({
      day: new Date().toISOString().slice(0, 10),
      units: 4,
      requests: 1,
    });
    expect(body.data[1]).toMatchObject({ units: 0, requests: 0 });
  });

  it("refuses anyone else, and does not exist without ADMIN_TOKEN_SHA256", async () => {
    const hash = "a".repeat(64);
    expect((await usage(`key=${hash}`, null)).status).toBe(401);
    expect((await usage(`key=${hash}`, "sk-local-dev")).status).toBe(401);
    const absent = await usage(`key=${hash}`, ADMIN_TOKEN, "");
    expect(absent.status).toBe(404);
    const bad = await usage("key=nothex&days=0", ADMIN_TOKEN);
    expect(bad.status).toBe(400);
    expect((await errorOf(bad)).param).toBe("key");
  });
});
