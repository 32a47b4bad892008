// POST /v1/images/variations: multipart, PNG only, square, ≤ 4 MB, checked from the header
// before anything decodes the image; the key includes the image's sha256.
import { SELF } from "cloudflare:test";
import { MAX_VARIATION_IMAGE_BYTES, poolPathOf } from "@unclip/shared";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ORIGIN, uniqueSeed } from "./helpers.ts";
import { pngHeaderOnly, solidPng } from "./png.ts";
import { FakePool } from "./pool.ts";

let pool: FakePool;
beforeEach(() => {
  pool = new FakePool().install();
});
afterEach(() => pool.restore());

async function variation(fields: Record<string, string | Blob>, contentType?: string) {
  const form = new FormData();
  for (const [name, value] of Object.entries(fields)) form.append(name, value);
  // Serialized once, so the body and its boundary in content-type belong together.
  const encoded = new Request("http://form.invalid/", { method: "POST", body: form });
  return SELF.fetch(`${ORIGIN}/v1/images/variations`, {
    method: "POST",
    headers: {
      authorization: "Bearer sk-local-dev",
      "content-type": contentType ?? encoded.headers.get("content-type")!,
    },
    body: await encoded.arrayBuffer(),
  });
}

const pngBlob = (bytes: Uint8Array) => new Blob([bytes], { type: "image/png" });

async function expectError(res: Response, status: number, param: string | null) {
  expect(res.status).toBe(status);
  const body = (await res.json()) as {
    error: { param: string | null; message: string; code: string | null };
  };
  expect(body.error.param).toBe(param);
  expect(pool.calls).toHaveLength(0);
  return body.error;
}

describe("POST /v1/images/variations", () => {
  it("forwards a square PNG to the pool and answers its variations", async () => {
    const png = await solidPng(32, 32);
    const res = await variation({ image: pngBlob(png), n: "2", seed: String(uniqueSeed()) });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { data: unknown[] }).data).toHaveLength(2);
    expect(pool.calls[0].url.pathname).toBe(poolPathOf("variation"));
    expect(pool.calls[0].body).toMatchObject({
      n: 2,
      size: "256x256",
      image_b64: expect.any(String),
    });
    expect(pool.calls[0].body).not.toHaveProperty("prompt");
  });

  it("keys on the image's sha256: the same upload is a hit, another image is not", async () => {
    const seed = String(uniqueSeed());
    const red = pngBlob(await solidPng(16, 16, [255, 0, 0]));
    const blue = pngBlob(await solidPng(16, 16, [0, 0, 255]));
    const a = await variation({ image: red, seed });
    const b = await variation({ image: red, seed });
    const c = await variation({ image: blue, seed });
    expect(b.headers.get("x-unclip-cache")).toBe("hit");
    expect(c.headers.get("x-unclip-cache-key")).not.toBe(a.headers.get("x-unclip-cache-key"));
    expect(pool.calls).toHaveLength(2);
  });

  it("refuses a file that is not a PNG with 400 naming image", async () => {
    const jpeg = new Blob([new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 0, 0x10])], {
      type: "image/png",
    });
    const error = await expectError(await variation({ image: jpeg }), 400, "image");
    expect(error.code).toBe("invalid_image_format");
  });

  it("refuses a non-square PNG, read from its header", async () => {
    const error = await expectError(
      await variation({ image: pngBlob(pngHeaderOnly(64, 32)) }),
      400,
      "image",
    );
    expect(error.message).toMatch(/square.*64×32/);
  });

  it("refuses a PNG header that declares huge dimensions without decoding it", async () => {
    const error = await expectError(
      await variation({ image: pngBlob(pngHeaderOnly(100_000, 100_000)) }),
      400,
      "image",
    );
    expect(error.message).toMatch(/too large/);
  });

  it("refuses a truncated PNG with no IHDR", async () => {
    const truncated = pngHeaderOnly(32, 32).slice(0, 12);
    await expectError(await variation({ image: pngBlob(truncated) }), 400, "image");
  });

  it("refuses an image over 4 MB with 400 naming image, as OpenAI does", async () => {
    const big = new Uint8Array(MAX_VARIATION_IMAGE_BYTES + 1);
    big.set(pngHeaderOnly(32, 32));
    await expectError(await variation({ image: pngBlob(big) }), 400, "image");
  });

  it("refuses a missing image, an image sent as text, and bad fields, naming them", async () => {
    const png = pngBlob(await solidPng(8, 8));
    await expectError(await variation({ n: "1" }), 400, "image");
    await expectError(await variation({ image: "iVBORw0KGgo=" }), 400, "image");
    await expectError(await variation({ image: png, n: "many" }), 400, "n");
    await expectError(await variation({ image: png, n: "11" }), 400, "n");
    await expectError(await variation({ image: png, size: "100x50" }), 400, "size");
    await expectError(
      await variation({ image: png, response_format: "gif" }),
      400,
      "response_format",
    );
    await expectError(await variation({ image: png, prompt: "x" }), 400, "prompt");
  });

  it("refuses a body that is not valid multipart, and JSON, with 400", async () => {
    const broken = await SELF.fetch(`${ORIGIN}/v1/images/variations`, {
      method: "POST",
      headers: {
        authorization: "Bearer sk-local-dev",
        "content-type": "multipart/form-data; boundary=xyz",
      },
      body: "--abc\r\nnot a part\r\n",
    });
    await expectError(broken, 400, null);
    const json = await SELF.fetch(`${ORIGIN}/v1/images/variations`, {
      method: "POST",
      headers: { authorization: "Bearer sk-local-dev", "content-type": "application/json" },
      body: "{}",
    });
    expect((await expectError(json, 400, null)).code).toBe("unsupported_content_type");
  });
});
