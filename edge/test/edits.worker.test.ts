// Worker layer (the pool mocked at its boundary; tests/edits.e2e.test.ts runs edits through
// the whole stack). POST /v1/images/edits: multipart image + optional mask + prompt, both PNGs checked from
// their headers; the key covers the prompt's ids, the image's and the mask's sha256.
import { SELF } from "cloudflare:test";
import { poolPathOf } from "@unclip/shared";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ORIGIN, uniqueSeed } from "./helpers.ts";
import { pngHeaderOnly, solidPng } from "./png.ts";
import { FakePool } from "./pool.ts";

let pool: FakePool;
beforeEach(() => {
  pool = new FakePool().install();
});
afterEach(() => pool.restore());

async function edit(fields: Record<string, string | Blob>) {
  const form = new FormData();
  for (const [name, value] of Object.entries(fields)) form.append(name, value);
  const encoded = new Request("http://form.invalid/", { method: "POST", body: form });
  return SELF.fetch(`${ORIGIN}/v1/images/edits`, {
    method: "POST",
    headers: {
      authorization: "Bearer sk-local-dev",
      "content-type": encoded.headers.get("content-type")!,
    },
    body: await encoded.arrayBuffer(),
  });
}

const pngBlob = (bytes: Uint8Array) => new Blob([bytes], { type: "image/png" });

async function expectError(res: Response, status: number, param: string | null) {
  expect(res.status).toBe(status);
  const body = (await res.json()) as {
    error: { param: string | null; message: string; type: string };
  };
  expect(body.error.param).toBe(param);
  expect(body.error.type).toBe("invalid_request_error");
  expect(pool.calls).toHaveLength(0);
  return body.error;
}

describe("POST /v1/images/edits", () => {
  it("forwards the image, the mask and the prompt to the pool's edits route", async () => {
    const res = await edit({
      image: pngBlob(await solidPng(32, 32)),
      mask: pngBlob(await solidPng(32, 32, [0, 0, 0])),
      prompt: "a red circle",
      n: "2",
      seed: String(uniqueSeed()),
    });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { data: unknown[] }).data).toHaveLength(2);
    expect(pool.calls[0].url.pathname).toBe(poolPathOf("edit"));
    expect(pool.calls[0].body).toMatchObject({
      prompt: "a red circle",
      n: 2,
      size: "256x256",
      image_b64: expect.any(String),
      mask_b64: expect.any(String),
      prior_steps: expect.any(Number),
    });
  });

  it("sends no mask when none was uploaded (the image's alpha is the mask)", async () => {
    const res = await edit({ image: pngBlob(await solidPng(16, 16)), prompt: "a red circle" });
    expect(res.status).toBe(200);
    expect(pool.calls[0].body).not.toHaveProperty("mask_b64");
  });

  it("keys on image, mask and prompt: a repeat is a hit, any change is a miss", async () => {
    const seed = String(uniqueSeed());
    const image = pngBlob(await solidPng(16, 16, [9, 9, 9]));
    const maskA = pngBlob(await solidPng(16, 16, [1, 1, 1]));
    const maskB = pngBlob(await solidPng(16, 16, [2, 2, 2]));
    const base = { image, seed, prompt: "a red circle" };
    const keys: string[] = [];
    for (const fields of [
      { ...base, mask: maskA },
      { ...base, mask: maskA },
      { ...base, mask: maskB },
      base,
      { ...base, prompt: "a blue square" },
    ]) {
      const res = await edit(fields);
      expect(res.status).toBe(200);
      keys.push(res.headers.get("x-unclip-cache-key")!);
      if (keys.length === 2) expect(res.headers.get("x-unclip-cache")).toBe("hit");
    }
    expect(keys[1]).toBe(keys[0]);
    expect(new Set(keys).size).toBe(4);
    expect(pool.calls).toHaveLength(4);
  });

  it("refuses a mask whose size differs from the image's, naming mask", async () => {
    const error = await expectError(
      await edit({
        image: pngBlob(await solidPng(32, 32)),
        mask: pngBlob(await solidPng(16, 16)),
        prompt: "a red circle",
      }),
      400,
      "mask",
    );
    expect(error.message).toMatch(/same dimensions.*32×32.*16×16/);
  });

  it("refuses a missing or empty prompt, a missing image and a non-square image, naming them", async () => {
    const png = pngBlob(await solidPng(8, 8));
    await expectError(await edit({ image: png }), 400, "prompt");
    await expectError(await edit({ image: png, prompt: "  " }), 400, "prompt");
    await expectError(await edit({ prompt: "a red circle" }), 400, "image");
    await expectError(
      await edit({ image: pngBlob(pngHeaderOnly(64, 32)), prompt: "a red circle" }),
      400,
      "image",
    );
    await expectError(await edit({ image: png, prompt: "x", mask: "not a file" }), 400, "mask");
    await expectError(await edit({ image: png, prompt: "x", n: "0" }), 400, "n");
    expect((await edit({ image: png, prompt: "x", model: "dall-e-3" })).status).toBe(404);
    expect(pool.calls).toHaveLength(0);
  });

  it("refuses a mask that is not a PNG with 400 naming mask", async () => {
    const jpeg = new Blob([new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 0, 0x10])]);
    const res = await edit({ image: pngBlob(await solidPng(8, 8)), mask: jpeg, prompt: "x" });
    await expectError(res, 400, "mask");
  });
});
