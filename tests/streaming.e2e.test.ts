// Issue 18 through the official `openai` package against the real stack (built Worker in
// Miniflare, a real runner on the tiny bundle): streamed partial images for generations and
// edits, output formats by b64_json and by URL, the 400s, and what reaches the runner (its
// /metrics): a format change on a cached prompt, a cache hit and identical streams at once.
import { decode, encode } from "fast-png";
import OpenAI, { toFile } from "openai";
import { describe, expect, inject, it } from "vitest";
import { LOCAL_API_KEY } from "../scripts/stack.ts";
import { isPng, metricValue, uniqueSeed } from "./support.ts";

const edgeUrl = inject("edgeUrl");
const runnerUrl = inject("runnerUrl");
const client = new OpenAI({ apiKey: LOCAL_API_KEY, baseURL: `${edgeUrl}/v1`, maxRetries: 0 });

// Our extensions (seed, steps) ride along in the body; the SDK sends unknown fields as given.
type Generate = OpenAI.Images.ImageGenerateParamsNonStreaming;
type StreamedGenerate = OpenAI.Images.ImageGenerateParamsStreaming;
const withExtensions = <T>(body: T & { seed?: number; steps?: number }) => body as T;

interface TimedEvent {
  at: number;
  event: OpenAI.Images.ImageGenStreamEvent | OpenAI.Images.ImageEditStreamEvent;
}

async function collect(
  stream: AsyncIterable<TimedEvent["event"]>,
  started = performance.now(),
): Promise<TimedEvent[]> {
  const events: TimedEvent[] = [];
  for await (const event of stream) events.push({ at: performance.now() - started, event });
  return events;
}

const jobsOnRunner = () => metricValue(runnerUrl, "unclip_jobs_total");

function sizeOfPng(b64: string): [number, number] {
  const png = decode(Buffer.from(b64, "base64"));
  return [png.width, png.height];
}

const WEBP_MAGIC = [0x52, 0x49, 0x46, 0x46]; // RIFF…WEBP
const JPEG_MAGIC = [0xff, 0xd8, 0xff];
const startsWith = (bytes: Uint8Array, magic: number[]) => magic.every((b, i) => bytes[i] === b);

describe("streamed generations and edits", () => {
  it("images.generate with partial_images 2 yields partials in order, then one completed image at the size asked", async () => {
    const started = performance.now();
    const stream = await client.images.generate(
      withExtensions<StreamedGenerate>({
        prompt: "two yellow triangles",
        size: "256x256",
        stream: true,
        partial_images: 2,
        seed: uniqueSeed(),
        steps: 40,
      }),
    );
    const events = await collect(stream, started);
    const types = events.map((e) => e.event.type);
    expect(types).toEqual([
      "image_generation.partial_image",
      "image_generation.partial_image",
      "image_generation.completed",
    ]);
    const partials = events
      .slice(0, 2)
      .map((e) => e.event as OpenAI.Images.ImageGenPartialImageEvent);
    expect(partials.map((p) => p.partial_image_index)).toEqual([0, 1]);
    for (const { event } of events) {
      expect(sizeOfPng(event.b64_json)).toEqual([256, 256]);
      expect(event).toMatchObject({ output_format: "png", size: "256x256" });
    }
    // The partials are pictures of their own, not copies of the final one.
    expect(partials[0].b64_json).not.toBe(events[2].event.b64_json);
    // Unbuffered: the first partial reaches the client well before the completed event.
    const [first, , completed] = events.map((e) => e.at);
    console.log(
      `stream: first partial at ${first.toFixed(0)} ms, completed at ${completed.toFixed(0)} ms`,
    );
    expect(completed - first).toBeGreaterThan(0.2 * completed);
  });

  it("images.edit streams image_edit events the same way", async () => {
    const source = await client.images.generate(
      withExtensions<Generate>({ prompt: "a gray square", response_format: "b64_json", steps: 6 }),
    );
    // The image's own alpha is the mask: its centre quarter is made fully transparent.
    const opaque = decode(Buffer.from(source.data![0].b64_json!, "base64"));
    const side = opaque.width;
    const rgba = new Uint8Array(side * side * 4);
    for (let p = 0; p < side * side; p++) {
      const [x, y] = [p % side, Math.floor(p / side)];
      const hole = x >= side / 4 && x < (3 * side) / 4 && y >= side / 4 && y < (3 * side) / 4;
      for (let c = 0; c < 3; c++) rgba[p * 4 + c] = opaque.data[p * opaque.channels + c];
      rgba[p * 4 + 3] = hole ? 0 : 255;
    }
    const png = encode({ width: side, height: side, data: rgba, channels: 4, depth: 8 });
    const stream = await client.images.edit(
      withExtensions<OpenAI.Images.ImageEditParamsStreaming>({
        image: await toFile(png, "image.png", { type: "image/png" }),
        prompt: "a red circle",
        stream: true,
        partial_images: 2,
        seed: uniqueSeed(),
        steps: 12,
      }),
    );
    const events = await collect(stream);
    expect(events.map((e) => e.event.type)).toEqual([
      "image_edit.partial_image",
      "image_edit.partial_image",
      "image_edit.completed",
    ]);
    expect(
      events.map((e) => (e.event as { partial_image_index?: number }).partial_image_index),
    ).toEqual([0, 1, undefined]);
    expect(sizeOfPng(events[2].event.b64_json)).toEqual([256, 256]);
  });

  it("partial_images 0 yields only the completed event", async () => {
    const stream = await client.images.generate(
      withExtensions<StreamedGenerate>({
        prompt: "a blue square in the bottom right",
        stream: true,
        partial_images: 0,
        seed: uniqueSeed(),
        steps: 8,
      }),
    );
    const events = await collect(stream);
    expect(events.map((e) => e.event.type)).toEqual(["image_generation.completed"]);
  });

  it("a cache hit streams just the completed event, without the runner", async () => {
    const body = withExtensions<StreamedGenerate>({
      prompt: "a green triangle on a white background",
      stream: true,
      partial_images: 3,
      seed: uniqueSeed(),
      steps: 8,
    });
    const first = await collect(await client.images.generate(body));
    expect(first).toHaveLength(4);
    const jobs = await jobsOnRunner();
    const again = await collect(await client.images.generate(body));
    expect(again.map((e) => e.event.type)).toEqual(["image_generation.completed"]);
    expect(again[0].event.b64_json).toBe(first[3].event.b64_json);
    expect(await jobsOnRunner()).toBe(jobs);
  });

  it("identical streams at once share one runner job, each with its own partial count", async () => {
    const body = {
      prompt: "three small purple triangles on a white background",
      stream: true as const,
      seed: uniqueSeed(),
      steps: 40,
    };
    const jobs = await jobsOnRunner();
    const [three, one] = await Promise.all([
      client.images
        .generate(withExtensions<StreamedGenerate>({ ...body, partial_images: 3 }))
        .then(collect),
      client.images
        .generate(withExtensions<StreamedGenerate>({ ...body, partial_images: 1 }))
        .then(collect),
    ]);
    expect(await jobsOnRunner()).toBe(jobs + 1);
    expect(three.at(-1)!.event.b64_json).toBe(one.at(-1)!.event.b64_json);
    const partialsOf = (events: TimedEvent[]) =>
      events.filter((e) => e.event.type === "image_generation.partial_image");
    expect(partialsOf(three).length).toBeGreaterThan(0);
    expect(partialsOf(one).length).toBeLessThanOrEqual(1);
    expect(one.at(-1)!.event.type).toBe("image_generation.completed");
  });
});

describe("output formats", () => {
  const prompt = "a smiling face with heart eyes";

  it("answers webp and jpeg in b64_json and by URL with the right Content-Type, without the runner for a cached prompt", async () => {
    const seed = uniqueSeed();
    const png = await client.images.generate(
      withExtensions<Generate>({ prompt, seed, steps: 8, response_format: "b64_json" }),
    );
    expect(isPng(Buffer.from(png.data![0].b64_json!, "base64"))).toBe(true);
    const jobs = await jobsOnRunner();
    for (const [format, magic, type] of [
      ["webp", WEBP_MAGIC, "image/webp"],
      ["jpeg", JPEG_MAGIC, "image/jpeg"],
    ] as const) {
      const inline = await client.images.generate(
        withExtensions<Generate>({
          prompt,
          seed,
          steps: 8,
          response_format: "b64_json",
          output_format: format,
        }),
      );
      expect(startsWith(Buffer.from(inline.data![0].b64_json!, "base64"), magic)).toBe(true);
      const byUrl = await client.images.generate(
        withExtensions<Generate>({
          prompt,
          seed,
          steps: 8,
          output_format: format,
          output_compression: 60,
        }),
      );
      const url = new URL(byUrl.data![0].url!);
      expect(url.pathname).toMatch(new RegExp(`/0-q60\\.${format}$`));
      const res = await fetch(url);
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toBe(type);
      expect(startsWith(new Uint8Array(await res.arrayBuffer()), magic)).toBe(true);
    }
    // Every answer above came from the one cached PNG.
    expect(await jobsOnRunner()).toBe(jobs);
  });

  it("gives fewer bytes at a lower output_compression", async () => {
    const seed = uniqueSeed();
    const bytesAt = async (format: "webp" | "jpeg", compression: number) => {
      const res = await client.images.generate(
        withExtensions<Generate>({
          prompt,
          seed,
          steps: 8,
          size: "512x512",
          response_format: "b64_json",
          output_format: format,
          output_compression: compression,
        }),
      );
      return Buffer.from(res.data![0].b64_json!, "base64").length;
    };
    for (const format of ["webp", "jpeg"] as const) {
      expect(await bytesAt(format, 20)).toBeLessThan(await bytesAt(format, 95));
    }
  });

  it.each([
    [{ stream: true, partial_images: 4 }, "partial_images"],
    [{ output_format: "webp", output_compression: 101 }, "output_compression"],
    [{ output_format: "bmp" }, "output_format"],
    [{ output_format: "gif" }, "output_format"],
    [{ output_format: "svg" }, "output_format"],
    [{ background: "transparent" }, "background"],
    [{ stream: true, response_format: "url" }, "response_format"],
    [{ stream: true, n: 2 }, "n"],
  ])("refuses %j with a 400 naming %s", async (fields, param) => {
    // The SDK checks the status before it reads a stream, so a refused stream throws here too.
    const error = await client.images
      .generate({ prompt: "a red circle", ...fields } as Generate)
      .catch((e) => e);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect(error.param).toBe(param);
  });
});
