// The cache (Contract 2, docs/ARCHITECTURE.md) against the real local R2 and Durable Objects: hits
// never reach the pool, identical misses render once, objects carry their metadata and immutable
// headers.
import { SELF } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { bytesFromBase64, sha256Hex } from "@unclip/shared";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { errorOf, generate, ORIGIN, uniqueSeed } from "./helpers.ts";
import { delayed, FakePool } from "./pool.ts";

let pool: FakePool;
beforeEach(() => {
  pool = new FakePool().install();
});
afterEach(() => pool.restore());

type Images = { created?: number; data: Array<{ url?: string; b64_json?: string }> };
const local = (url: string) => url.replace(/^https?:\/\/[^/]+/, ORIGIN);
/** An answer's image URLs without their grant (the expiry moves on with the clock). */
const paths = (body: Images) => body.data.map((d) => d.url?.split("?")[0]);

describe("cache of repeat prompts", () => {
  it("answers a repeat from R2 without calling the pool", async () => {
    const body = { prompt: "a red circle", seed: uniqueSeed(), n: 2 };
    const first = await generate(body);
    expect(first.status).toBe(200);
    expect(first.headers.get("x-unclip-cache")).toBe("miss");
    const second = await generate(body);
    expect(second.headers.get("x-unclip-cache")).toBe("hit");
    expect(pool.calls).toHaveLength(1);
    const repeat = (await second.json()) as Images;
    expect(repeat.created).toEqual(expect.any(Number));
    expect(paths(repeat)).toEqual(paths((await first.json()) as Images));
  });

  it("shares a key between prompts the tokenizer maps to the same ids", async () => {
    const seed = uniqueSeed();
    await generate({ prompt: "A Red  Circle", seed });
    const res = await generate({ prompt: "ａ red circle", seed });
    expect(res.headers.get("x-unclip-cache")).toBe("hit");
    expect(pool.calls).toHaveLength(1);
  });

  it("resolves every default before the key: omitted and explicit defaults are one key", async () => {
    const seed = uniqueSeed();
    const implicit = await generate({ prompt: "a blue square", seed });
    expect(implicit.status).toBe(200);
    const call = pool.calls[0].body;
    const explicit = await generate({
      prompt: "a blue square",
      seed,
      size: "256x256",
      steps: call.decoder_steps,
      decoder_guidance_scale: call.decoder_guidance_scale,
      prior_steps: call.prior_steps,
      prior_guidance_scale: call.prior_guidance_scale,
    });
    expect(explicit.headers.get("x-unclip-cache")).toBe("hit");
    expect(explicit.headers.get("x-unclip-cache-key")).toBe(
      implicit.headers.get("x-unclip-cache-key"),
    );
  });

  it("keys on the sampler: the manifest's default is resolved, another sampler is another key", async () => {
    const seed = uniqueSeed();
    const implicit = await generate({ prompt: "a red square", seed });
    const call = pool.calls[0].body;
    // The pool is told every stage's sampler (the tiny bundle's manifest names none: DDIM).
    expect([call.prior_sampler, call.decoder_sampler, call.upsampler_sampler]).toEqual([
      "ddim",
      "ddim",
      "ddim",
    ]);
    const explicit = await generate({ prompt: "a red square", seed, sampler: "ddim" });
    expect(explicit.headers.get("x-unclip-cache")).toBe("hit");
    const other = await generate({ prompt: "a red square", seed, sampler: "dpmpp_2m" });
    expect(other.headers.get("x-unclip-cache")).toBe("miss");
    expect(other.headers.get("x-unclip-cache-key")).not.toBe(
      implicit.headers.get("x-unclip-cache-key"),
    );
    expect(pool.calls[1].body).toMatchObject({
      prior_sampler: "dpmpp_2m",
      decoder_sampler: "dpmpp_2m",
      upsampler_sampler: "dpmpp_2m",
    });
  });

  it("derives the seed from the key: no seed is deterministic and cached", async () => {
    const prompt = "a green triangle on a red background";
    const first = await generate({ prompt, size: "512x512" });
    const second = await generate({ prompt, size: "512x512" });
    expect(second.headers.get("x-unclip-cache-key")).toBe(first.headers.get("x-unclip-cache-key"));
    expect(second.headers.get("x-unclip-cache")).toBe("hit");
    expect(pool.calls).toHaveLength(1);
    expect(pool.calls[0].body.seed).toEqual(expect.any(Number));
  });

  it("keeps n out of the key: fewer images are a hit, more images render the key again", async () => {
    const seed = uniqueSeed();
    const three = await generate({ prompt: "a red circle", seed, n: 3 });
    const one = await generate({ prompt: "a red circle", seed, n: 1 });
    expect(one.headers.get("x-unclip-cache")).toBe("hit");
    expect(one.headers.get("x-unclip-cache-key")).toBe(three.headers.get("x-unclip-cache-key"));
    const five = await generate({ prompt: "a red circle", seed, n: 5 });
    expect(five.headers.get("x-unclip-cache")).toBe("miss");
    expect(pool.calls.map((c) => c.body.n)).toEqual([3, 5]);
  });

  it("renders 10 concurrent identical misses with one pool call, and all get the images", async () => {
    pool.handler = delayed(150);
    const body = { prompt: "a red circle", seed: uniqueSeed(), n: 2 };
    const responses = await Promise.all(Array.from({ length: 10 }, () => generate(body)));
    expect(responses.map((r) => r.status)).toEqual(Array(10).fill(200));
    expect(pool.calls).toHaveLength(1);
    const bodies = (await Promise.all(responses.map((r) => r.json()))) as Images[];
    for (const b of bodies) expect(paths(b)).toEqual(paths(bodies[0]));
  });

  it("stores <key>/<i>.png with bundle, seed, params and created metadata", async () => {
    const seed = uniqueSeed();
    const res = await generate({ prompt: "a red circle", seed, n: 2, size: "512x512" });
    const key = res.headers.get("x-unclip-cache-key")!;
    const listed = await env.IMAGES.list({ prefix: `${key}/`, include: ["customMetadata"] });
    expect(listed.objects.map((o) => o.key).sort()).toEqual([`${key}/0.png`, `${key}/1.png`]);
    const meta = listed.objects[0].customMetadata!;
    expect(meta.bundle).toBe(pool.calls[0].body.bundle);
    expect(meta.seed).toBe(String(seed));
    expect(JSON.parse(meta.params)).toMatchObject({ size: "512x512", seed });
    expect(Number.isNaN(Date.parse(meta.created))).toBe(false);
  });

  it("inlines the PNGs for b64_json, byte-identical to the stored objects", async () => {
    const res = await generate({
      prompt: "a red circle",
      seed: uniqueSeed(),
      response_format: "b64_json",
    });
    const body = (await res.json()) as Images;
    const png = bytesFromBase64(body.data[0].b64_json!);
    const stored = await env.IMAGES.get(`${res.headers.get("x-unclip-cache-key")}/0.png`);
    expect(await sha256Hex(png)).toBe(await sha256Hex(new Uint8Array(await stored!.arrayBuffer())));
  });
});

describe("GET /v1/images/<key>/<i>.png", () => {
  it("serves the PNG with an ETag, caching for the URL's lifetime, and 304 for If-None-Match", async () => {
    const res = await generate({ prompt: "a red circle", seed: uniqueSeed() });
    const url = local(((await res.json()) as Images).data[0].url!);
    expect(url).toMatch(/\/v1\/images\/[0-9a-f]{64}\/0\.png\?expires=\d+&signature=[0-9a-f]{64}$/);
    const image = await SELF.fetch(url);
    expect(image.status).toBe(200);
    expect(image.headers.get("content-type")).toBe("image/png");
    const maxAge = Number(
      /^public, max-age=(\d+), immutable$/.exec(image.headers.get("cache-control")!)?.[1],
    );
    expect(maxAge).toBeGreaterThan(3590);
    expect(maxAge).toBeLessThanOrEqual(3600);
    const etag = image.headers.get("etag")!;
    expect(etag).toMatch(/^".+"$/);
    await image.arrayBuffer();
    const again = await SELF.fetch(url, { headers: { "if-none-match": etag } });
    expect(again.status).toBe(304);
    expect(again.headers.get("etag")).toBe(etag);
    const listed = await SELF.fetch(url, { headers: { "if-none-match": `"other", W/${etag}` } });
    expect(listed.status).toBe(304);
    const stale = await SELF.fetch(url, { headers: { "if-none-match": '"other"' } });
    expect(stale.status).toBe(200);
    await stale.arrayBuffer();
  });

  it("answers HEAD without a body and refuses other methods with 405", async () => {
    const res = await generate({ prompt: "a red circle", seed: uniqueSeed() });
    const url = local(((await res.json()) as Images).data[0].url!);
    const head = await SELF.fetch(url, { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(head.headers.get("etag")).toMatch(/^".+"$/);
    expect((await head.arrayBuffer()).byteLength).toBe(0);
    const post = await SELF.fetch(url, { method: "POST" });
    expect(post.status).toBe(405);
    expect(post.headers.get("allow")).toBe("GET, HEAD");
  });

  it("answers a JSON 404 for a signed URL whose object is gone", async () => {
    const res = await generate({ prompt: "a red circle", seed: uniqueSeed() });
    const url = local(((await res.json()) as Images).data[0].url!);
    await env.IMAGES.delete(`${res.headers.get("x-unclip-cache-key")}/0.png`);
    const gone = await SELF.fetch(url);
    expect(gone.status).toBe(404);
    expect((await errorOf(gone)).code).toBe("image_not_found");
  });
});
