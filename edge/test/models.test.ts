// GET /v1/models, GET /v1/models/{id} and the `model` field of the image routes: the served
// bundle and its dall-e-2 alias are accepted; any other name is refused as OpenAI refuses it.
import { SELF } from "cloudflare:test";
import OpenAI, { toFile } from "openai";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { servedBundle } from "../src/bundle/index.ts";
import { DEV_KEY, errorOf, generate, ORIGIN, postJson, uniqueSeed } from "./helpers.ts";
import { solidPng } from "./png.ts";
import { FakePool } from "./pool.ts";

let pool: FakePool;
beforeEach(() => {
  pool = new FakePool().install();
});
afterEach(() => pool.restore());

const client = new OpenAI({
  apiKey: DEV_KEY,
  baseURL: `${ORIGIN}/v1`,
  maxRetries: 0,
  fetch: (url: string | URL | Request, init?: RequestInit) => SELF.fetch(url, init),
});

describe("GET /v1/models", () => {
  it("lists the served bundle and the dall-e-2 alias as OpenAI model objects", async () => {
    const list = await client.models.list();
    expect(list.data.map((m) => m.id)).toEqual([servedBundle.id, "dall-e-2"]);
    for (const model of list.data) {
      expect(model).toEqual({
        id: model.id,
        object: "model",
        created: Date.UTC(2026, 10, 26) / 1000, // tiny-test's version is 2026.11.26
        owned_by: "unclip-edge",
      });
    }
  });

  it("retrieves one model by id (the bundle's id percent-encoded by the SDK) and 404s others", async () => {
    expect((await client.models.retrieve(servedBundle.id)).id).toBe(servedBundle.id);
    expect((await client.models.retrieve("dall-e-2")).id).toBe("dall-e-2");
    const missing = await client.models.retrieve("dall-e-3").catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(OpenAI.NotFoundError);
    expect((missing as InstanceType<typeof OpenAI.NotFoundError>).code).toBe("model_not_found");
  });

  it("needs an API key, like OpenAI's", async () => {
    const res = await SELF.fetch(`${ORIGIN}/v1/models`);
    expect(res.status).toBe(401);
    expect((await errorOf(res)).code).toBe("invalid_api_key");
  });
});

describe("the model field", () => {
  it("accepts the bundle's id, dall-e-2, null and no model", async () => {
    const seed = uniqueSeed();
    for (const model of [servedBundle.id, "dall-e-2", null, undefined]) {
      const res = await generate({ prompt: "a red circle", seed, model });
      expect(res.status, String(model)).toBe(200);
    }
  });

  it("refuses any other model with OpenAI's 404 model_not_found, before the pool is called", async () => {
    const res = await generate({ prompt: "a red circle", model: "dall-e-3" });
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({
      error: {
        message: "The model `dall-e-3` does not exist or you do not have access to it.",
        type: "invalid_request_error",
        param: "model",
        code: "model_not_found",
      },
    });
    const interpolation = await postJson("/v1/images/interpolations", {
      prompt: "a red circle",
      target_prompt: "a blue square",
      model: "gpt-image-1",
    });
    expect(interpolation.status).toBe(404);
    const image = await toFile(await solidPng(32, 32), "input.png", { type: "image/png" });
    const variation = await client.images
      .createVariation({ image, model: "gpt-image-1" })
      .catch((e: unknown) => e);
    expect(variation).toBeInstanceOf(OpenAI.NotFoundError);
    expect(pool.calls).toHaveLength(0);
  });
});
