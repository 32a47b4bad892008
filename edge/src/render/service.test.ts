// The image service against the real local R2 and GenerationFlight, the pool faked at its
// HTTP boundary: a miss answered inline uses the bytes the flight stored, never R2 again.
import { env } from "cloudflare:workers";
import { bytesFromBase64 } from "@unclip/shared";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { countingBucket, uniqueSeed } from "../../test/helpers.ts";
import { FakePool, renderedResponse } from "../../test/pool.ts";
import { servedBundle } from "../bundle/index.ts";
import { readStored } from "../storage/images.ts";
import { renderJobFor } from "./job.ts";
import { renderImages } from "./service.ts";

let pool: FakePool;
beforeEach(() => {
  pool = new FakePool().install();
});
afterEach(() => pool.restore());

const jobOf = (seed: number) =>
  renderJobFor(
    {
      operation: "generation",
      fields: { prompt: "a red circle", n: 2, seed, response_format: "b64_json" },
    },
    servedBundle,
  );

describe("renderImages", () => {
  it("hands back the pool's bytes on a miss without reading them back from R2", async () => {
    const job = await jobOf(uniqueSeed());
    const reads = countingBucket();
    const rendered = await renderImages(job, reads.env, { withImages: true });
    expect(rendered.generated).toBe(true);
    expect(reads.objectsRead()).toBe(0);
    expect(pool.calls).toHaveLength(1);
    const expected = (await renderedResponse(pool.calls[0])).images.map((image) =>
      bytesFromBase64(image.png_b64),
    );
    expect(rendered.images).toEqual(expected);
    expect(await readStored(job.key, job.count, env)).toEqual(expected);
  });

  it("answers a hit from R2 alone, and needs no bytes for a URL answer", async () => {
    const job = await jobOf(uniqueSeed());
    await renderImages(job, env);
    const reads = countingBucket();
    const hit = await renderImages(job, reads.env, { withImages: true });
    expect(hit.generated).toBe(false);
    expect(hit.images).toHaveLength(2);
    expect(reads.objectsRead()).toBe(2);
    expect((await renderImages(job, env)).images).toBeUndefined();
    expect(pool.calls).toHaveLength(1);
  });
});
