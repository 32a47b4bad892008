// Worker layer (tests/openai-sdk.e2e.test.ts runs the SDK against the whole stack).
// The official `openai` npm SDK against the Worker, unchanged except for baseURL and a fetch
// that goes to the Worker in this workerd (SELF.fetch) instead of the network.
import { SELF } from "cloudflare:test";
import { poolPathOf } from "@unclip/shared";
import OpenAI, { toFile } from "openai";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { DEV_KEY, newApiKey, ORIGIN, uniqueSeed } from "./helpers.ts";
import { solidPng } from "./png.ts";
import { busy, FakePool } from "./pool.ts";

let pool: FakePool;
beforeEach(() => {
  pool = new FakePool().install();
});
afterEach(() => pool.restore());

function client(apiKey: string = DEV_KEY): OpenAI {
  return new OpenAI({
    apiKey,
    baseURL: `${ORIGIN}/v1`,
    maxRetries: 0,
    fetch: (url: string | URL | Request, init?: RequestInit) => SELF.fetch(url, init),
  });
}

describe("the official openai SDK", () => {
  it("generates images with images.generate (url and b64_json)", async () => {
    const seed = uniqueSeed();
    const urls = await client().images.generate({
      prompt: "a red circle",
      n: 2,
      size: "256x256",
      // Extensions pass through the SDK's body untouched.
      ...({ seed } as object),
    });
    expect(urls.data).toHaveLength(2);
    expect(urls.data?.[0].url).toMatch(
      /^https:\/\/edge\.test\/v1\/images\/[0-9a-f]{64}\/0\.png\?expires=\d+&signature=[0-9a-f]{64}$/,
    );
    const inline = await client().images.generate({
      prompt: "a red circle",
      response_format: "b64_json",
      model: "dall-e-2",
      ...({ seed } as object),
    });
    expect(inline.data?.[0].b64_json).toMatch(/^iVBORw0KGgo/); // PNG signature in base64
    expect(pool.calls).toHaveLength(1); // the second request is a cache hit
  });

  it("creates variations with images.createVariation from a PNG file", async () => {
    const image = await toFile(await solidPng(32, 32), "input.png", { type: "image/png" });
    const result = await client().images.createVariation({ image, n: 2, size: "256x256" });
    expect(result.data).toHaveLength(2);
    expect(pool.calls[0].url.pathname).toBe(poolPathOf("variation"));
  });

  it("raises the SDK's own error classes: BadRequestError, AuthenticationError, RateLimitError", async () => {
    const bad = await client()
      .images.generate({ prompt: "a red circle", n: 11 })
      .catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(OpenAI.BadRequestError);
    expect((bad as InstanceType<typeof OpenAI.BadRequestError>).param).toBe("n");

    const notPng = await toFile(new Uint8Array([1, 2, 3, 4]), "x.png", { type: "image/png" });
    const unsupported = await client()
      .images.createVariation({ image: notPng })
      .catch((e: unknown) => e);
    expect(unsupported).toBeInstanceOf(OpenAI.BadRequestError);
    expect((unsupported as InstanceType<typeof OpenAI.BadRequestError>).code).toBe(
      "invalid_image_format",
    );

    const unauthenticated = await client("sk-wrong")
      .images.generate({ prompt: "a red circle" })
      .catch((e: unknown) => e);
    expect(unauthenticated).toBeInstanceOf(OpenAI.AuthenticationError);

    const tiny = await newApiKey({ burst: 1, rate_per_minute: 0.01 });
    await client(tiny).images.generate({
      prompt: "a red circle",
      ...({ seed: uniqueSeed() } as object),
    });
    const limited = await client(tiny)
      .images.generate({ prompt: "a red circle", ...({ seed: uniqueSeed() } as object) })
      .catch((e: unknown) => e);
    expect(limited).toBeInstanceOf(OpenAI.RateLimitError);
    expect((limited as InstanceType<typeof OpenAI.RateLimitError>).code).toBe(
      "rate_limit_exceeded",
    );
    expect(
      (limited as InstanceType<typeof OpenAI.RateLimitError>).headers?.get("retry-after"),
    ).toMatch(/^\d+$/);
  });

  it("raises InternalServerError with the pool's retry-after when the pool is down", async () => {
    pool.handler = busy(2);
    const error = await client()
      .images.generate({ prompt: "a red circle", ...({ seed: uniqueSeed() } as object) })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.InternalServerError);
    expect((error as InstanceType<typeof OpenAI.APIError>).status).toBe(503);
  });
});
