// The R2 store against Miniflare's real local R2, with one write made to fail: a key must end
// up holding all of a job's images or none of them.
import { env } from "cloudflare:workers";
import { sha256Hex } from "@unclip/shared";
import { describe, expect, it } from "vitest";
import { servedBundle } from "../bundle/index.ts";
import { ApiError } from "../errors.ts";
import { renderJobFor } from "../render/job.ts";
import { isCached, objectName, storeImages, type VerifiedImage } from "./images.ts";

async function fakeImages(count: number): Promise<VerifiedImage[]> {
  return Promise.all(
    Array.from({ length: count }, async (_, index) => {
      const bytes = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, index]);
      return { index, bytes, sha256: await sha256Hex(bytes) };
    }),
  );
}

/** The real bucket, except that writing image `failIndex` of any key fails like R2 can. */
function bucketFailingAt(failIndex: number): R2Bucket {
  return new Proxy(env.IMAGES, {
    get(target, prop) {
      if (prop === "put") {
        return async (name: string, ...rest: Parameters<R2Bucket["put"]>[1][]) => {
          if (name.endsWith(`/${failIndex}.png`)) throw new Error("R2 put failed: internal error");
          return target.put(name, ...(rest as [Parameters<R2Bucket["put"]>[1]]));
        };
      }
      const value = Reflect.get(target, prop, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

describe("storing a job's images in R2", () => {
  it("writes every image with its metadata when R2 accepts them", async () => {
    const job = await renderJobFor(
      {
        operation: "generation",
        fields: { prompt: "a red circle", n: 3, seed: 11, response_format: "url" },
      },
      servedBundle,
    );
    await storeImages(job, await fakeImages(3), env);
    expect(await isCached(job.key, 3, env)).toBe(true);
    const head = await env.IMAGES.head(objectName(job.key, 2));
    expect(head?.customMetadata).toMatchObject({ bundle: job.bundle, seed: "11" });
  });

  it("rolls back the written images and answers a retryable 503 when one write fails", async () => {
    const job = await renderJobFor(
      {
        operation: "generation",
        fields: { prompt: "a blue square", n: 3, seed: 12, response_format: "url" },
      },
      servedBundle,
    );
    const failing = { ...env, IMAGES: bucketFailingAt(1) } as Env;
    const error = await storeImages(job, await fakeImages(3), failing).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).status).toBe(503);
    expect((error as ApiError).body.error.code).toBe("storage_unavailable");
    expect((error as ApiError).headers["retry-after"]).toBe("1");
    for (let i = 0; i < 3; i++) expect(await env.IMAGES.head(objectName(job.key, i))).toBeNull();
    expect(await isCached(job.key, 1, env)).toBe(false);
  });
});
