import { env } from "cloudflare:workers";
import { sha256Hex } from "@unclip/shared";
import { describe, expect, it } from "vitest";
import { DEV_KEY, generate, newApiKey } from "../../../test/helpers.ts";
import { ApiError } from "../../errors.ts";
import { authenticate } from "./index.ts";

async function rejection(authorization: string | undefined) {
  const error = await authenticate(authorization, env).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(ApiError);
  return error as ApiError;
}

describe("authenticate", () => {
  it("accepts the documented local development key through its hash", async () => {
    const key = await authenticate(`Bearer ${DEV_KEY}`, env);
    expect(key.hash).toBe(await sha256Hex(DEV_KEY));
    expect(key.name).toMatch(/development/);
  });

  it("accepts a key whose sha256 is in API_KEYS and carries its per-key policy", async () => {
    const raw = await newApiKey({ burst: 7, rate_per_minute: 3 });
    const key = await authenticate(`Bearer ${raw}`, env);
    expect(key).toMatchObject({ hash: await sha256Hex(raw), burst: 7, rate_per_minute: 3 });
  });

  it("refuses a missing header, a non-bearer header and an unknown key with 401 invalid_api_key", async () => {
    for (const header of [undefined, "Basic abc", "Bearer", "Bearer sk-nobody"]) {
      const error = await rejection(header);
      expect(error.status).toBe(401);
      expect(error.body.error).toMatchObject({
        type: "authentication_error",
        code: "invalid_api_key",
      });
    }
  });

  it("refuses a key whose stored record is malformed instead of trusting it", async () => {
    const raw = `sk-broken-${crypto.randomUUID()}`;
    await env.API_KEYS.put(await sha256Hex(raw), "not json");
    expect((await rejection(`Bearer ${raw}`)).status).toBe(401);
  });

  it("never stores or compares the raw key: only its hash is a KV name", async () => {
    const raw = await newApiKey();
    expect(await env.API_KEYS.get(raw)).toBeNull();
  });
});

describe("auth on the API", () => {
  it("answers 401 with the OpenAI error object before reading the body", async () => {
    for (const key of [null, "sk-unknown"]) {
      const res = await generate({ prompt: "a red circle" }, key);
      expect(res.status).toBe(401);
      expect(await res.json()).toEqual({
        error: {
          message: expect.any(String),
          type: "authentication_error",
          param: null,
          code: "invalid_api_key",
        },
      });
    }
  });
});
