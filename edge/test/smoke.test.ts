import { SELF } from "cloudflare:test";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { generate, ORIGIN, uniqueSeed } from "./helpers.ts";
import { FakePool } from "./pool.ts";

describe("smoke", () => {
  let pool: FakePool;
  beforeEach(() => {
    pool = new FakePool().install();
  });
  afterEach(() => pool.restore());

  it("generates and serves", async () => {
    const res = await generate({ prompt: "a red circle", seed: uniqueSeed() });
    const body = await res.json();
    console.log(res.status, JSON.stringify(body), [...res.headers]);
    expect(res.status).toBe(200);
    const url = (body as { data: { url: string }[] }).data[0].url;
    const img = await SELF.fetch(url.replace(/^https?:\/\/[^/]+/, ORIGIN));
    expect(img.status).toBe(200);
    expect(pool.calls).toHaveLength(1);
  });
});
