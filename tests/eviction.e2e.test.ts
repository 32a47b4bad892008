// Retention (infra/DEPLOY.md: an R2 lifecycle rule deletes images after N days) is safe only if
// losing the objects behind a cache key costs a regeneration and nothing else: the next request
// reaches the pool again and gets the same bytes, because the key names everything that changes
// the pixels and the default seed derives from the key. Here the objects are deleted from the
// shared stack's local R2 (Miniflare, the same files the edge serves) while the stack runs.
import { resolve } from "node:path";
import type { Miniflare } from "miniflare";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { NO_FETCH_SCRIPT, openLocalState } from "../scripts/edge/localState.ts";
import { isPng, metricValue, postJson } from "./support.ts";

const edgeUrl = inject("edgeUrl");
const runnerUrl = inject("runnerUrl");
const stackState = resolve(inject("stateDir"), "shared");
/** wrangler.toml's local IMAGES bucket. */
const LOCAL_BUCKET = "unclip-images-local";

interface LocalBucket {
  head(key: string): Promise<unknown>;
  delete(keys: string[]): Promise<void>;
}

let miniflare: Miniflare;
let bucket: LocalBucket;

beforeAll(async () => {
  miniflare = openLocalState(stackState, {
    name: "eviction-test",
    modules: true,
    script: NO_FETCH_SCRIPT,
    r2Buckets: { IMAGES: LOCAL_BUCKET },
  });
  bucket = (await miniflare.getR2Bucket("IMAGES")) as unknown as LocalBucket;
});
afterAll(() => miniflare?.dispose());

async function generateUrls(): Promise<{ cache: string | null; urls: string[] }> {
  // No seed: the pool renders with the seed derived from the cache key.
  const res = await postJson(edgeUrl, "/v1/images/generations", {
    prompt: "three green triangles",
    n: 2,
    size: "256x256",
  });
  expect(res.status).toBe(200);
  const body = (await res.json()) as { data: { url: string }[] };
  return { cache: res.headers.get("x-unclip-cache"), urls: body.data.map((d) => d.url) };
}

async function download(url: string): Promise<Uint8Array> {
  const res = await fetch(url);
  expect(res.status).toBe(200);
  return new Uint8Array(await res.arrayBuffer());
}

/** `…/v1/images/<key>/<i>.png?…` → the R2 object name `<key>/<i>.png`. */
const objectOf = (url: string) => new URL(url).pathname.replace(/^\/v1\/images\//, "");

describe("losing the objects behind a cache key", () => {
  it("regenerates them on the next request, byte for byte", async () => {
    const first = await generateUrls();
    const before = await Promise.all(first.urls.map(download));
    expect(before.every(isPng)).toBe(true);
    const objects = first.urls.map(objectOf);
    for (const name of objects) expect(await bucket.head(name)).not.toBeNull();

    await bucket.delete(objects);
    for (const name of objects) expect(await bucket.head(name)).toBeNull();
    // The old URL's object is gone: an expired image is a 404, not a broken answer.
    expect((await fetch(first.urls[0])).status).toBe(404);

    const jobsBefore = await metricValue(runnerUrl, "unclip_jobs_total");
    const again = await generateUrls();
    expect(again.cache).toBe("miss");
    expect(await metricValue(runnerUrl, "unclip_jobs_total")).toBe(jobsBefore + 1);
    expect(again.urls.map(objectOf)).toEqual(objects);
    const after = await Promise.all(again.urls.map(download));
    for (let i = 0; i < before.length; i++) {
      expect(Buffer.from(after[i]).equals(Buffer.from(before[i])), `image ${i}`).toBe(true);
    }
    for (const name of objects) expect(await bucket.head(name)).not.toBeNull();
  });
});
