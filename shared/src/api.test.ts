import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  generationRequestSchema,
  interpolationRequestSchema,
  MAX_SEED,
  sideOf,
  sizesFor,
  variationFieldsSchema,
} from "./api.ts";
import { openAiErrorFromZod, openAiErrorSchema } from "./errors.ts";

function errorOf(result: { success: boolean; error?: unknown }) {
  expect(result.success).toBe(false);
  return openAiErrorFromZod(result.error as never).error;
}

const validGeneration = fc.record(
  {
    prompt: fc.string({ minLength: 1, maxLength: 1000 }).filter((s) => s.trim().length > 0),
    n: fc.integer({ min: 1, max: 10 }),
    size: fc.constantFrom("256x256", "512x512", "1024x1024", "64x64"),
    response_format: fc.constantFrom("url", "b64_json"),
    seed: fc.integer({ min: 0, max: MAX_SEED }),
    steps: fc.integer({ min: 1, max: 250 }),
    prior_guidance_scale: fc.double({ min: 0, max: 20, noNaN: true }),
    decoder_guidance_scale: fc.double({ min: 0, max: 20, noNaN: true }),
    user: fc.string({ maxLength: 256 }),
  },
  { requiredKeys: ["prompt"] },
);

describe("generation request schema", () => {
  it("accepts every well-formed request and fills the OpenAI defaults", () => {
    fc.assert(
      fc.property(validGeneration, (body) => {
        const parsed = generationRequestSchema.parse(body);
        expect(parsed.n).toBe(body.n ?? 1);
        expect(parsed.response_format).toBe(body.response_format ?? "url");
      }),
    );
  });

  it.each([
    [{}, "prompt", /expected string|must be a string/],
    [{ prompt: "" }, "prompt", /must not be empty/],
    [{ prompt: "   " }, "prompt", /must not be empty/],
    [{ prompt: "x".repeat(1001) }, "prompt", /at most 1000 characters/],
    [{ prompt: 42 }, "prompt", /string/],
    [{ prompt: "a", n: 0 }, "n", /at least 1/],
    [{ prompt: "a", n: 11 }, "n", /at most 10/],
    [{ prompt: "a", n: 1.5 }, "n", /integer/],
    [{ prompt: "a", n: "2" }, "n", /integer/],
    [{ prompt: "a", size: "300x200" }, "size", /square size/],
    [{ prompt: "a", size: 256 }, "size", /string/],
    [{ prompt: "a", response_format: "png" }, "response_format", /"url" or "b64_json"/],
    [{ prompt: "a", seed: -1 }, "seed", /at least 0/],
    [{ prompt: "a", seed: MAX_SEED + 1 }, "seed", /at most/],
    [{ prompt: "a", steps: 0 }, "steps", /at least 1/],
    [{ prompt: "a", prior_guidance_scale: 21 }, "prior_guidance_scale", /at most 20/],
    [{ prompt: "a", decoder_guidance_scale: "high" }, "decoder_guidance_scale", /number/],
    [{ prompt: "a", quality: "hd" }, "quality", /Unrecognized request argument/],
    [{ prompt: "a", sampler: "euler" }, "sampler", /"ddim", "dpmpp_2m"/],
  ])("rejects %j naming %s and the reason", (body, param, reason) => {
    const error = errorOf(generationRequestSchema.safeParse(body));
    expect(error.param).toBe(param);
    expect(error.message).toMatch(reason);
    expect(error.type).toBe("invalid_request_error");
  });

  it("turns any invalid body into a well-formed OpenAI error naming a field", () => {
    fc.assert(
      fc.property(fc.anything(), (body) => {
        const result = generationRequestSchema.safeParse(body);
        if (result.success) return;
        const error = openAiErrorFromZod(result.error);
        expect(openAiErrorSchema.safeParse(error).success).toBe(true);
        expect(error.error.message.length).toBeGreaterThan(0);
      }),
      { numRuns: 500 },
    );
  });
});

describe("variation fields schema", () => {
  it("coerces multipart strings and names bad fields", () => {
    expect(variationFieldsSchema.parse({ n: "3", size: "256x256" })).toMatchObject({
      n: 3,
      response_format: "url",
    });
    expect(errorOf(variationFieldsSchema.safeParse({ n: "many" })).param).toBe("n");
    expect(errorOf(variationFieldsSchema.safeParse({ n: "12" })).message).toMatch(/at most 10/);
    expect(errorOf(variationFieldsSchema.safeParse({ prompt: "x" })).param).toBe("prompt");
    expect(variationFieldsSchema.parse({ sampler: "ddim" }).sampler).toBe("ddim");
    expect(errorOf(variationFieldsSchema.safeParse({ sampler: "DDIM" })).param).toBe("sampler");
  });
});

describe("interpolation request schema", () => {
  it("defaults to 5 slerp frames and bounds the frame count", () => {
    expect(interpolationRequestSchema.parse({ prompt: "a", target_prompt: "b" })).toMatchObject({
      frames: 5,
      mode: "slerp",
    });
    expect(
      errorOf(interpolationRequestSchema.safeParse({ prompt: "a", target_prompt: "b", frames: 1 }))
        .param,
    ).toBe("frames");
    expect(errorOf(interpolationRequestSchema.safeParse({ prompt: "a" })).param).toBe(
      "target_prompt",
    );
  });
});

describe("sizes", () => {
  it("serves the public sizes plus the bundle's native one", () => {
    expect(sizesFor(64)).toEqual(["64x64", "256x256", "512x512", "1024x1024"]);
    expect(sizesFor(256)).toEqual(["256x256", "512x512", "1024x1024"]);
    expect(sideOf("512x512")).toBe(512);
  });
});
