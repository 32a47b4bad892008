// Issue 5's end-to-end checks: the built Worker in Miniflare (scripts/edge) with a real gpu-runner
// process on the tiny bundle. The runner's own metrics tell whether the pool was reached.
import { describe, expect, inject, it } from "vitest";
import { authHeaders, isPng, metricValue, pngHeader, postJson, uniqueSeed } from "./support.ts";

const edgeUrl = inject("edgeUrl");
const runnerUrl = inject("runnerUrl");
const GENERATIONS = "/v1/images/generations";

async function expectOpenAiError(res: Response, status: number, param?: string | null) {
  expect(res.status).toBe(status);
  expect(res.headers.get("content-type")).toMatch(/application\/json/);
  const body = (await res.json()) as {
    error: { message: string; type: string; param: string | null; code: string | null };
  };
  expect(typeof body.error.message).toBe("string");
  expect(body.error.message.length).toBeGreaterThan(0);
  expect(typeof body.error.type).toBe("string");
  if (param !== undefined) expect(body.error.param).toBe(param);
  return body.error;
}

describe("generations through the real runner", () => {
  it("stores a miss in R2 and answers the repeat from R2 without calling the runner", async () => {
    const seed = uniqueSeed();
    const jobsBefore = await metricValue(runnerUrl, "unclip_jobs_total");
    const imagesBefore = await metricValue(runnerUrl, "unclip_images_generated_total");

    const miss = await postJson(edgeUrl, GENERATIONS, { prompt: "two red circles", n: 2, seed });
    expect(miss.status).toBe(200);
    expect(miss.headers.get("x-unclip-cache")).toBe("miss");
    const first = (await miss.json()) as { data: Array<{ url: string }> };
    expect(first.data).toHaveLength(2);
    expect(await metricValue(runnerUrl, "unclip_jobs_total")).toBe(jobsBefore + 1);
    expect(await metricValue(runnerUrl, "unclip_images_generated_total")).toBe(imagesBefore + 2);

    for (const { url } of first.data) {
      expect(url.startsWith(`${edgeUrl}/v1/images/`)).toBe(true);
      const image = await fetch(url);
      expect(image.status).toBe(200);
      expect(image.headers.get("content-type")).toBe("image/png");
      expect(image.headers.get("cache-control")).toMatch(/immutable/);
      expect(isPng(new Uint8Array(await image.arrayBuffer()))).toBe(true);
    }

    // Case and spacing differ, the token ids do not: same key, no pool call.
    const hit = await postJson(edgeUrl, GENERATIONS, { prompt: "Two  RED circles", n: 2, seed });
    expect(hit.status).toBe(200);
    expect(hit.headers.get("x-unclip-cache")).toBe("hit");
    // The same objects; each answer signs its URLs afresh (the expiry moves with the clock).
    const objectsOf = (body: { data: Array<{ url: string }> }) =>
      body.data.map(({ url }) => new URL(url).pathname);
    expect(objectsOf((await hit.json()) as typeof first)).toEqual(objectsOf(first));
    expect(await metricValue(runnerUrl, "unclip_jobs_total")).toBe(jobsBefore + 1);
  });

  it("generates 10 concurrent identical misses once and gives every waiter the images", async () => {
    const seed = uniqueSeed();
    const jobsBefore = await metricValue(runnerUrl, "unclip_jobs_total");
    const answers = await Promise.all(
      Array.from({ length: 10 }, () =>
        postJson(edgeUrl, GENERATIONS, {
          prompt: "a blue square",
          seed,
          response_format: "b64_json",
        }),
      ),
    );
    const bodies = await Promise.all(
      answers.map((r) => r.json() as Promise<{ data: Array<{ b64_json: string }> }>),
    );
    expect(answers.map((r) => r.status)).toEqual(Array(10).fill(200));
    const images = new Set(bodies.map((b) => b.data[0].b64_json));
    expect(images.size).toBe(1);
    expect(isPng(Uint8Array.from(atob([...images][0]), (c) => c.charCodeAt(0)))).toBe(true);
    expect(await metricValue(runnerUrl, "unclip_jobs_total")).toBe(jobsBefore + 1);
  });

  it("is deterministic without a seed: the default seed comes from the cache key", async () => {
    const prompt = `a green triangle in the top left`;
    const a = await postJson(edgeUrl, GENERATIONS, {
      prompt,
      response_format: "b64_json",
      steps: 3,
    });
    const b = await postJson(edgeUrl, GENERATIONS, {
      prompt,
      response_format: "b64_json",
      steps: 3,
    });
    expect(a.status).toBe(200);
    expect(b.headers.get("x-unclip-cache")).toBe("hit");
    // `created` is the answer's time; the images must be the same.
    const images = async (r: Response) => ((await r.json()) as { data: unknown }).data;
    expect(await images(b)).toEqual(await images(a));
  });

  it("serves stored images with an ETag and answers If-None-Match with 304", async () => {
    const res = await postJson(edgeUrl, GENERATIONS, {
      prompt: "a yellow circle",
      seed: uniqueSeed(),
    });
    const { data } = (await res.json()) as { data: Array<{ url: string }> };
    const image = await fetch(data[0].url);
    const etag = image.headers.get("etag");
    expect(etag).toBeTruthy();
    const again = await fetch(data[0].url, { headers: { "if-none-match": etag! } });
    expect(again.status).toBe(304);
    // Unsigned: refused without looking the object up (the same for any key).
    await expectOpenAiError(await fetch(`${edgeUrl}/v1/images/${"0".repeat(64)}/0.png`), 403);
    await expectOpenAiError(await fetch(data[0].url.split("?")[0]), 403);
  });

  it("makes variations of an uploaded PNG through the runner", async () => {
    const gen = await postJson(edgeUrl, GENERATIONS, {
      prompt: "a red square",
      seed: uniqueSeed(),
    });
    const { data } = (await gen.json()) as { data: Array<{ url: string }> };
    const png = new Uint8Array(await (await fetch(data[0].url)).arrayBuffer());
    const form = new FormData();
    form.set("image", new Blob([png], { type: "image/png" }), "input.png");
    form.set("n", "2");
    const res = await fetch(`${edgeUrl}/v1/images/variations`, {
      method: "POST",
      headers: authHeaders(),
      body: form,
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { data: Array<{ url: string }> };
    expect(body.data).toHaveLength(2);
    expect(isPng(new Uint8Array(await (await fetch(body.data[1].url)).arrayBuffer()))).toBe(true);
  });

  it("interpolates between two prompts into k frames", async () => {
    const res = await postJson(edgeUrl, "/v1/images/interpolations", {
      prompt: "a red circle",
      target_prompt: "a blue square",
      frames: 3,
      response_format: "b64_json",
    });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { data: unknown[] }).data).toHaveLength(3);
  });
});

describe("authentication and rate limits at the edge", () => {
  it("answers 401 for a missing or unknown key without reaching the runner", async () => {
    const jobsBefore = await metricValue(runnerUrl, "unclip_jobs_total");
    await expectOpenAiError(
      await postJson(edgeUrl, GENERATIONS, { prompt: "a red circle" }, {}),
      401,
    );
    await expectOpenAiError(
      await postJson(edgeUrl, GENERATIONS, { prompt: "a red circle" }, authHeaders("sk-not-a-key")),
      401,
    );
    expect(await metricValue(runnerUrl, "unclip_jobs_total")).toBe(jobsBefore);
  });

  it("puts the x-ratelimit headers on answers", async () => {
    const res = await postJson(edgeUrl, GENERATIONS, { prompt: "a red circle", seed: 1 });
    for (const name of [
      "x-ratelimit-limit-requests",
      "x-ratelimit-remaining-requests",
      "x-ratelimit-reset-requests",
    ]) {
      expect(res.headers.get(name)).not.toBeNull();
    }
  });
});

describe("bad input never reaches the runner and always gets an OpenAI error", () => {
  const cases: Array<[string, unknown, string | null]> = [
    ["no prompt", {}, "prompt"],
    ["empty prompt", { prompt: "" }, "prompt"],
    ["prompt too long", { prompt: "a ".repeat(600) }, "prompt"],
    ["prompt not a string", { prompt: ["a"] }, "prompt"],
    ["n too large", { prompt: "a", n: 11 }, "n"],
    ["n not an integer", { prompt: "a", n: 2.5 }, "n"],
    ["n as a string", { prompt: "a", n: "2" }, "n"],
    ["size not square", { prompt: "a", size: "256x512" }, "size"],
    ["size not served", { prompt: "a", size: "128x128" }, "size"],
    ["unknown response_format", { prompt: "a", response_format: "jpeg" }, "response_format"],
    ["negative seed", { prompt: "a", seed: -3 }, "seed"],
    ["seed too big", { prompt: "a", seed: 2 ** 40 }, "seed"],
    ["steps zero", { prompt: "a", steps: 0 }, "steps"],
    [
      "guidance not a number",
      { prompt: "a", decoder_guidance_scale: "lots" },
      "decoder_guidance_scale",
    ],
    ["unknown field", { prompt: "a", style: "vivid" }, "style"],
    ["body is an array", [1, 2], null],
    ["body is null", null, null],
  ];

  it.each(cases)("%s → 400 naming the field", async (_name, body, param) => {
    await expectOpenAiError(await postJson(edgeUrl, GENERATIONS, body), 400, param);
  });

  it("answers bad JSON with 400, a wrong content type with 400 and a huge body with 413", async () => {
    await expectOpenAiError(await postJson(edgeUrl, GENERATIONS, '{"prompt": "a red'), 400);
    const text = await fetch(`${edgeUrl}${GENERATIONS}`, {
      method: "POST",
      headers: { ...authHeaders(), "content-type": "text/plain" },
      body: "a red circle",
    });
    await expectOpenAiError(text, 400);
    await expectOpenAiError(
      await postJson(edgeUrl, GENERATIONS, { prompt: "x".repeat(2_000_000) }),
      413,
    );
  });

  it("refuses bad variation uploads: no file, not a PNG, a lying oversized header, not square, too big", async () => {
    const upload = async (parts: Record<string, Blob | string>) => {
      const form = new FormData();
      for (const [k, v] of Object.entries(parts)) form.set(k, v);
      return fetch(`${edgeUrl}/v1/images/variations`, {
        method: "POST",
        headers: authHeaders(),
        body: form,
      });
    };
    await expectOpenAiError(await upload({ n: "1" }), 400, "image");
    const jpeg = new Blob([new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 0, 0x10])], {
      type: "image/jpeg",
    });
    const notPng = await upload({ image: jpeg });
    await expectOpenAiError(notPng, 400, "image");
    const huge = await upload({
      image: new Blob([pngHeader(100_000, 100_000)], { type: "image/png" }),
    });
    expect(huge.status).toBeGreaterThanOrEqual(400);
    expect(huge.status).toBeLessThan(500);
    await expectOpenAiError(
      await upload({ image: new Blob([pngHeader(64, 32)], { type: "image/png" }) }),
      400,
      "image",
    );
    const big = new Uint8Array(4 * 1024 * 1024 + 10);
    big.set(pngHeader(64, 64));
    // Over 4 MB: 400 as OpenAI answers it (a body over the whole limit would be 413).
    const tooBig = await upload({ image: new Blob([big], { type: "image/png" }) });
    await expectOpenAiError(tooBig, 400, "image");
    const broken = await fetch(`${edgeUrl}/v1/images/variations`, {
      method: "POST",
      headers: { ...authHeaders(), "content-type": "multipart/form-data; boundary=xyz" },
      body: '--xyz\r\nContent-Disposition: form-data; name="image"\r\n\r\nnot closed',
    });
    await expectOpenAiError(broken, 400);
  });

  it("answers unknown routes with JSON 404 and wrong methods with JSON 405", async () => {
    await expectOpenAiError(await fetch(`${edgeUrl}/v2/nothing`), 404);
    await expectOpenAiError(
      await fetch(`${edgeUrl}${GENERATIONS}`, { method: "GET", headers: authHeaders() }),
      405,
    );
  });
});
