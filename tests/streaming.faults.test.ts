// Issue 18's fault tests against real processes, through the official `openai` package: the
// pool dies after a stream began (the SDK raises the `error` event, the units come back,
// nothing is stored), and a client leaves mid-stream (only its own stream ends: the job
// finishes and is cached, a stream on the same flight gets all its events, the runner holds
// nothing afterwards and the stack keeps serving).
import OpenAI from "openai";
import { describe, expect, inject, it } from "vitest";
import { LOCAL_API_KEY, type Stack, signal } from "../scripts/stack.ts";
import { isPng, metricValue, ownStacks, postJson, signedImageUrl, uniqueSeed } from "./support.ts";

const stackWith = ownStacks(inject("stateDir"), "stream-fault-");

const clientOf = (stack: Stack) =>
  new OpenAI({ apiKey: LOCAL_API_KEY, baseURL: `${stack.edgeUrl}/v1`, maxRetries: 0 });

type StreamedGenerate = OpenAI.Images.ImageGenerateParamsStreaming;
/** A slow streamed generation (many steps), so a fault lands between partials. */
const slowStream = (seed: number, partialImages: number) =>
  ({
    prompt: "three small purple triangles on a white background",
    size: "1024x1024",
    stream: true,
    partial_images: partialImages,
    seed,
    steps: 150,
  }) as StreamedGenerate;

/** The key's bucket as the edge reports it on an answer that charges nothing (a 400). */
async function unitsLeft(stack: Stack): Promise<number> {
  const res = await postJson(stack.edgeUrl, "/v1/images/generations", { prompt: "" });
  expect(res.status).toBe(400);
  await res.arrayBuffer();
  return Number(res.headers.get("x-ratelimit-remaining-requests"));
}

describe("a stream whose pool dies after it began", () => {
  it("ends with an error event the SDK raises, refunds the units and stores nothing", async () => {
    const stack = await stackWith({
      runners: 1,
      edgeVars: {
        POOL_MAX_ATTEMPTS: "1",
        RATE_LIMIT_UNITS_PER_MINUTE: "1",
        RATE_LIMIT_BURST_UNITS: "100",
      },
    });
    const client = clientOf(stack);
    const before = await unitsLeft(stack);
    const { data: stream, response } = await client.images
      .generate(slowStream(uniqueSeed(), 3))
      .withResponse();
    const key = response.headers.get("x-unclip-cache-key")!;
    expect(key).toMatch(/^[0-9a-f]{64}$/);
    const seen: string[] = [];
    const failure = await (async () => {
      for await (const event of stream) {
        seen.push(event.type);
        // The first partial proves the stream began; then the only runner dies.
        if (seen.length === 1) signal(stack.runners[0], "SIGKILL");
      }
    })().catch((error: unknown) => error);
    expect(seen[0]).toBe("image_generation.partial_image");
    expect(seen).not.toContain("image_generation.completed");
    expect(failure).toBeInstanceOf(OpenAI.APIError);
    expect((failure as InstanceType<typeof OpenAI.APIError>).type).toBe("server_error");
    // The 1024² request cost 16 units; all came back (the bucket refills 1 a minute).
    expect(await unitsLeft(stack)).toBeGreaterThanOrEqual(before);
    const stored = await fetch(await signedImageUrl(stack.edgeUrl, key, 0));
    expect(stored.status).toBe(404);
    await stored.arrayBuffer();
  });
});

describe("a client that leaves mid-stream", () => {
  it("loses only its own stream: the job finishes and is cached, the other stream gets everything, nothing is held", async () => {
    const stack = await stackWith({ runners: 1 });
    const [runner] = stack.runners;
    const client = clientOf(stack);
    const seed = uniqueSeed();
    const jobsBefore = await metricValue(runner.url, "unclip_jobs_total");

    const leaving = new AbortController();
    const { data: left, response } = await client.images
      .generate(slowStream(seed, 3), { signal: leaving.signal })
      .withResponse();
    const key = response.headers.get("x-unclip-cache-key")!;
    // A second identical stream joins the same flight and stays to the end.
    const staying = client.images.generate(slowStream(seed, 3)).then(async (stream) => {
      const types: string[] = [];
      for await (const event of stream) types.push(event.type);
      return types;
    });
    const leftSaw: string[] = [];
    const ended = await (async () => {
      for await (const event of left) {
        leftSaw.push(event.type);
        leaving.abort(); // gone after its first event
      }
    })().catch((error: unknown) => error);
    expect(leftSaw).toEqual(["image_generation.partial_image"]);
    expect(ended === undefined || ended instanceof OpenAI.APIUserAbortError).toBe(true);

    const stayed = await staying;
    expect(stayed.at(-1)).toBe("image_generation.completed");
    expect(stayed.filter((t) => t === "image_generation.partial_image").length).toBeGreaterThan(0);
    // One runner job served both streams; the image was stored whole.
    expect((await metricValue(runner.url, "unclip_jobs_total")) - jobsBefore).toBe(1);
    const stored = await fetch(await signedImageUrl(stack.edgeUrl, key, 0));
    expect(stored.status).toBe(200);
    expect(isPng(new Uint8Array(await stored.arrayBuffer()))).toBe(true);
    // Nothing held: the runner's queue is empty and the key's flight is over (a cache hit).
    expect(await metricValue(runner.url, "unclip_queue_depth")).toBe(0);
    const again = await clientOf(stack).images.generate(slowStream(seed, 3)).withResponse();
    expect(again.response.headers.get("x-unclip-cache")).toBe("hit");
    const types: string[] = [];
    for await (const event of again.data) types.push(event.type);
    expect(types).toEqual(["image_generation.completed"]);
    // And the stack keeps serving other requests.
    const other = await postJson(stack.edgeUrl, "/v1/images/generations", {
      prompt: "a red circle",
      seed: uniqueSeed(),
    });
    expect(other.status).toBe(200);
    await other.arrayBuffer();
  });
});
