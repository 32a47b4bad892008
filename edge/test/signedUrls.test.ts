// Expiring signed image URLs through the Worker, against the real local R2: a fresh URL
// serves the PNG; unsigned, altered and expired URLs get one and the same refusal, whether
// or not the object exists.
import { SELF } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { grantQuery, signImageObject } from "../src/storage/signedUrl.ts";
import { generate, ORIGIN, uniqueSeed } from "./helpers.ts";
import { FakePool } from "./pool.ts";

let pool: FakePool;
beforeEach(() => {
  pool = new FakePool().install();
});
afterEach(() => pool.restore());

const secret = () => env.IMAGE_URL_SECRET as string;

async function storedImageUrl(): Promise<{ key: string; url: URL }> {
  const res = await generate({ prompt: "a red circle", seed: uniqueSeed() });
  const body = (await res.json()) as { data: Array<{ url: string }> };
  const url = new URL(body.data[0].url);
  return {
    key: res.headers.get("x-unclip-cache-key")!,
    url: new URL(url.pathname + url.search, ORIGIN),
  };
}

async function refusal(res: Response) {
  return { status: res.status, body: await res.text() };
}

describe("expiring signed image URLs", () => {
  it("serves a fresh URL from an answer", async () => {
    const { url } = await storedImageUrl();
    const expires = Number(url.searchParams.get("expires"));
    const now = Math.floor(Date.now() / 1000);
    expect(expires - now).toBeGreaterThan(3590);
    expect(expires - now).toBeLessThanOrEqual(3600);
    const res = await SELF.fetch(url);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("image/png");
    await res.arrayBuffer();
  });

  it("refuses an expired URL with 403 invalid_image_url", async () => {
    const { key } = await storedImageUrl();
    const name = `${key}/0.png`;
    const expired = await signImageObject(secret(), name, 3600, Date.now() - 3601_000);
    const res = await SELF.fetch(`${ORIGIN}/v1/images/${name}?${grantQuery(expired)}`);
    expect(res.status).toBe(403);
    const body = (await res.json()) as { error: { code: string; type: string } };
    expect(body.error).toMatchObject({ code: "invalid_image_url", type: "permission_error" });
  });

  it("refuses altered URLs: a pushed-back expiry, another signature, another image", async () => {
    const { url } = await storedImageUrl();
    const later = new URL(url);
    later.searchParams.set("expires", String(Number(url.searchParams.get("expires")) + 86_400));
    const forged = new URL(url);
    forged.searchParams.set("signature", "0".repeat(64));
    const otherImage = new URL(url);
    otherImage.pathname = url.pathname.replace("/0.png", "/1.png");
    for (const altered of [later, forged, otherImage]) {
      expect((await SELF.fetch(altered)).status, altered.href).toBe(403);
    }
  });

  it("gives unsigned, altered and expired URLs the same answer whether the object exists or not", async () => {
    const { key, url } = await storedImageUrl();
    const missing = "f".repeat(64);
    const expiredFor = async (k: string) =>
      grantQuery(await signImageObject(secret(), `${k}/0.png`, 60, Date.now() - 120_000));
    const pairs: Array<[string, string]> = [
      [`/v1/images/${key}/0.png`, `/v1/images/${missing}/0.png`],
      [
        `/v1/images/${key}/0.png?expires=${url.searchParams.get("expires")}&signature=${"a".repeat(64)}`,
        `/v1/images/${missing}/0.png?expires=${url.searchParams.get("expires")}&signature=${"a".repeat(64)}`,
      ],
      [
        `/v1/images/${key}/0.png?${await expiredFor(key)}`,
        `/v1/images/${missing}/0.png?${await expiredFor(missing)}`,
      ],
    ];
    const first = await refusal(await SELF.fetch(`${ORIGIN}${pairs[0][0]}`));
    expect(first.status).toBe(403);
    for (const [existing, absent] of pairs) {
      expect(await refusal(await SELF.fetch(`${ORIGIN}${existing}`))).toEqual(first);
      expect(await refusal(await SELF.fetch(`${ORIGIN}${absent}`))).toEqual(first);
    }
  });
});
