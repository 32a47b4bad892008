// Every field of the JSON endpoints, wrong types, bad JSON, unknown routes and methods: each
// answer is the OpenAI error object with the status the SDK expects and the field named.
import { SELF } from "cloudflare:test";
import { generationRequestSchema, openAiErrorSchema } from "@unclip/shared";
import fc from "fast-check";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { generate, newApiKey, ORIGIN, postJson } from "./helpers.ts";
import { FakePool } from "./pool.ts";

let pool: FakePool;
beforeEach(() => {
  pool = new FakePool().install();
});
afterEach(() => {
  expect(pool.calls).toHaveLength(0); // nothing invalid ever reaches the pool
  pool.restore();
});

async function expectError(res: Response, status: number, param: string | null, code?: string) {
  expect(res.status).toBe(status);
  expect(res.headers.get("content-type")).toMatch(/^application\/json/);
  const body = (await res.json()) as { error: Record<string, unknown> };
  expect(Object.keys(body)).toEqual(["error"]);
  expect(body.error.param).toBe(param);
  expect(body.error.message).toEqual(expect.any(String));
  if (code) expect(body.error.code).toBe(code);
  return body.error;
}

describe("POST /v1/images/generations validation", () => {
  it.each([
    [{}, "prompt"],
    [{ prompt: 42 }, "prompt"],
    [{ prompt: "" }, "prompt"],
    [{ prompt: "   " }, "prompt"],
    [{ prompt: "x".repeat(1001) }, "prompt"],
    [{ prompt: "a", n: 0 }, "n"],
    [{ prompt: "a", n: 11 }, "n"],
    [{ prompt: "a", n: 1.5 }, "n"],
    [{ prompt: "a", n: "2" }, "n"],
    [{ prompt: "a", n: null }, "n"],
    [{ prompt: "a", size: "300x200" }, "size"],
    [{ prompt: "a", size: 256 }, "size"],
    [{ prompt: "a", size: "2048x2048" }, "size"],
    [{ prompt: "a", size: "48x48" }, "size"],
    [{ prompt: "a", response_format: "png" }, "response_format"],
    [{ prompt: "a", seed: -1 }, "seed"],
    [{ prompt: "a", seed: 4_294_967_296 }, "seed"],
    [{ prompt: "a", seed: "7" }, "seed"],
    [{ prompt: "a", steps: 0 }, "steps"],
    [{ prompt: "a", steps: 251 }, "steps"],
    [{ prompt: "a", prior_steps: 2.5 }, "prior_steps"],
    [{ prompt: "a", prior_guidance_scale: 21 }, "prior_guidance_scale"],
    [{ prompt: "a", sampler: "euler" }, "sampler"],
    [{ prompt: "a", decoder_guidance_scale: "high" }, "decoder_guidance_scale"],
    [{ prompt: "a", user: 5 }, "user"],
    [{ prompt: "a", async: "yes" }, "async"],
    [{ prompt: "a", quality: "hd" }, "quality"],
  ])("refuses %j with 400 naming %s", async (body, param) => {
    const error = await expectError(await generate(body), 400, param);
    expect(error.type).toBe("invalid_request_error");
    expect(error.message).toContain(param);
  });

  it("answers any invalid JSON value with a well-formed 400, never a 5xx", async () => {
    const key = await newApiKey(); // its own per-location budget, not the shared dev key's
    await fc.assert(
      fc.asyncProperty(
        fc.anything().filter((body) => !generationRequestSchema.safeParse(body).success),
        async (body) => {
          const json = JSON.stringify(body) ?? "null";
          const res = await postJson("/v1/images/generations", json, key);
          expect(res.status).toBe(400);
          expect(openAiErrorSchema.safeParse(await res.json()).success).toBe(true);
        },
      ),
      { numRuns: 60 },
    );
  });

  it("names the sizes the model serves when the size is not one of them", async () => {
    const error = await expectError(
      await generate({ prompt: "a", size: "2048x2048" }),
      400,
      "size",
    );
    expect(error.message).toMatch(/256x256, 512x512, 1024x1024/);
  });

  it.each([
    ["not json", "{prompt:"],
    ["an array", "[]"],
    ["a string", '"a red circle"'],
    ["null", "null"],
    ["invalid utf-8", new Uint8Array([0x7b, 0xff, 0xfe, 0x7d])],
  ])("refuses a body that is %s", async (_name, body) => {
    const res = await SELF.fetch(`${ORIGIN}/v1/images/generations`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: "Bearer sk-local-dev" },
      body,
    });
    await expectError(res, 400, null);
  });

  it("refuses blocked terms on the tokenizer's normalized pieces with content_policy_violation", async () => {
    for (const prompt of ["a red bomb", "A  BOMB", "ｂｏｍｂ on a blue square"]) {
      await expectError(await generate({ prompt }), 400, "prompt", "content_policy_violation");
    }
  });

  it("checks both prompts of an interpolation against the content policy", async () => {
    const res = await postJson("/v1/images/interpolations", {
      prompt: "a red circle",
      target_prompt: "a gore square",
    });
    await expectError(res, 400, "target_prompt", "content_policy_violation");
  });

  it("validates interpolation fields with the shared schema", async () => {
    for (const [body, param] of [
      [{ prompt: "a" }, "target_prompt"],
      [{ prompt: "a", target_prompt: "b", frames: 1 }, "frames"],
      [{ prompt: "a", target_prompt: "b", mode: "lerp" }, "mode"],
    ] as const) {
      await expectError(await postJson("/v1/images/interpolations", body), 400, param);
    }
  });
});

describe("routes", () => {
  it("answers unknown routes with a JSON 404", async () => {
    for (const path of ["/nope", "/v1/images", "/v1/images/abc/0.png", "/v1/jobs/job_x/y/z"]) {
      const res = await SELF.fetch(`${ORIGIN}${path}`);
      await expectError(res, 404, null, "not_found");
    }
  });

  it("answers a wrong method with a JSON 405 and the allowed methods", async () => {
    const res = await SELF.fetch(`${ORIGIN}/v1/images/generations`);
    await expectError(res, 405, null, "method_not_allowed");
    expect(res.headers.get("allow")).toBe("POST");
    const del = await SELF.fetch(`${ORIGIN}/openapi.json`, { method: "DELETE" });
    expect(del.status).toBe(405);
    expect(del.headers.get("allow")).toBe("GET, HEAD");
  });

  it("describes the API at /openapi.json from the shared schemas", async () => {
    const res = await SELF.fetch(`${ORIGIN}/openapi.json`);
    expect(res.status).toBe(200);
    const doc = (await res.json()) as {
      openapi: string;
      paths: Record<
        string,
        Record<
          string,
          {
            requestBody?: {
              content: Record<string, { schema: { properties: Record<string, unknown> } }>;
            };
          }
        >
      >;
    };
    expect(doc.openapi).toBe("3.1.0");
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        "/v1/images/generations",
        "/v1/images/variations",
        "/v1/images/interpolations",
        "/v1/images/{key}/{file}",
        "/v1/jobs/{id}",
        "/v1/jobs/{id}/events",
      ]),
    );
    const generation =
      doc.paths["/v1/images/generations"].post.requestBody?.content["application/json"].schema;
    expect(Object.keys(generation?.properties ?? {})).toEqual(
      expect.arrayContaining(["prompt", "n", "size", "response_format", "seed", "async"]),
    );
  });

  it("serves the playground as HTML at / with the stable ids the browser test uses", async () => {
    const res = await SELF.fetch(`${ORIGIN}/`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/html/);
    const html = await res.text();
    for (const id of [
      "api-key",
      "prompt",
      "n",
      "seed",
      "size",
      "generate",
      "progress",
      "status",
      "images",
      "variations",
      "interp-a",
      "interp-b",
      "interp-frames",
      "interpolate",
      "interp-slider",
      "interp-frame",
    ]) {
      expect(html).toContain(`id="${id}" data-testid="${id}"`);
    }
    expect(html).toContain('value="sk-local-dev"');
    expect(html).toContain("<option selected>256x256</option>");
  });
});
