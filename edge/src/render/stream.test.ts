// A streamed answer against the real local R2 and GenerationFlight, the pool faked at its HTTP
// boundary: R2 is looked in once per stream (the cache step decides hit or miss before the
// headers, and the render after it does not look again), and the events carry the pool's image.
import { env } from "cloudflare:workers";
import { bytesFromBase64 } from "@unclip/shared";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { countingBucket, uniqueSeed } from "../../test/helpers.ts";
import { FakePool, renderedResponse } from "../../test/pool.ts";
import { servedBundle } from "../bundle/index.ts";
import { PNG_ENCODING } from "../storage/variants.ts";
import { renderJobFor } from "./job.ts";
import { streamedAnswer } from "./stream.ts";

let pool: FakePool;
beforeEach(() => {
  pool = new FakePool().install();
});
afterEach(() => pool.restore());

/** Streams one generation; the events as [name, data] once the answer (and its render) ended. */
async function stream(seed: number, counted: Env) {
  const job = await renderJobFor(
    { operation: "generation", fields: { prompt: "a red circle", n: 1, seed, stream: true } },
    servedBundle,
  );
  const pending: Promise<unknown>[] = [];
  const { events, cacheHit } = await streamedAnswer(
    {
      job,
      operation: "generation",
      partialImages: 0,
      encoding: PNG_ENCODING,
      refund: async () => {
        throw new Error("a stream that succeeds refunds nothing");
      },
    },
    counted,
    { waitUntil: (promise) => void pending.push(promise) },
  );
  const text = await new Response(events).text();
  await Promise.all(pending);
  const parsed = text
    .trim()
    .split("\n\n")
    .map((block) => {
      const [event, data] = block.split("\n");
      return [event.replace("event: ", ""), JSON.parse(data.replace("data: ", ""))] as const;
    });
  return { parsed, cacheHit };
}

describe("streamedAnswer", () => {
  it("looks in R2 once on a miss, then streams the pool's image", async () => {
    const counting = countingBucket();
    const { parsed, cacheHit } = await stream(uniqueSeed(), counting.env);
    expect(cacheHit).toBe(false);
    expect(pool.calls).toHaveLength(1);
    expect(counting.lookups()).toBe(1);
    expect(parsed.map(([event]) => event)).toEqual(["image_generation.completed"]);
    const [image] = (await renderedResponse(pool.calls[0])).images;
    expect(bytesFromBase64(parsed[0][1].b64_json)).toEqual(bytesFromBase64(image.png_b64));
  });

  it("answers a repeat from R2 in one lookup, without the pool", async () => {
    const seed = uniqueSeed();
    await stream(seed, env);
    const counting = countingBucket();
    const { parsed, cacheHit } = await stream(seed, counting.env);
    expect(cacheHit).toBe(true);
    expect(pool.calls).toHaveLength(1);
    expect(counting.lookups()).toBe(1);
    expect(parsed.map(([event]) => event)).toEqual(["image_generation.completed"]);
  });
});
