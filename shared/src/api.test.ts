import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  editFieldsSchema,
  generationRequestSchema,
  interpolationRequestSchema,
  MAX_SEED,
  outputEncodingOf,
  responseFormatOf,
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
        expect(responseFormatOf(parsed)).toBe(body.response_format ?? "url");
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
    [{ prompt: "a", stream: "yes" }, "stream", /boolean/],
    [{ prompt: "a", stream: true, partial_images: 4 }, "partial_images", /at most 3/],
    [{ prompt: "a", stream: true, partial_images: -1 }, "partial_images", /at least 0/],
    [{ prompt: "a", stream: true, partial_images: 1.5 }, "partial_images", /integer/],
    [{ prompt: "a", output_format: "bmp" }, "output_format", /"png", "webp", "jpeg"/],
    [{ prompt: "a", output_format: "gif" }, "output_format", /"gif" is not supported/],
    [{ prompt: "a", output_format: "svg" }, "output_format", /"svg" is not supported/],
    [
      { prompt: "a", output_format: "webp", output_compression: 101 },
      "output_compression",
      /at most 100/,
    ],
    [
      { prompt: "a", output_format: "jpeg", output_compression: -1 },
      "output_compression",
      /at least 0/,
    ],
    [{ prompt: "a", output_compression: 50 }, "output_compression", /"webp" and "jpeg" only/],
    [{ prompt: "a", background: "transparent" }, "background", /opaque images only/],
    [{ prompt: "a", background: "green" }, "background", /"auto" or "opaque"/],
    [
      { prompt: "a", stream: true, response_format: "url" },
      "response_format",
      /"url" cannot be streamed/,
    ],
    [{ prompt: "a", stream: true, n: 2 }, "n", /one image per request/],
    [{ prompt: "a", stream: true, async: true }, "async", /cannot be combined with stream/],
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

describe("streaming and output encoding", () => {
  it("streams b64_json by default and keeps url the default otherwise", () => {
    expect(responseFormatOf(generationRequestSchema.parse({ prompt: "a", stream: true }))).toBe(
      "b64_json",
    );
    expect(responseFormatOf(generationRequestSchema.parse({ prompt: "a" }))).toBe("url");
    expect(responseFormatOf(generationRequestSchema.parse({ prompt: "a", stream: false }))).toBe(
      "url",
    );
  });

  it("defaults to lossless png and to compression 100 for the lossy formats", () => {
    expect(outputEncodingOf({})).toEqual({ format: "png", compression: 100 });
    expect(outputEncodingOf({ output_format: "webp" })).toEqual({
      format: "webp",
      compression: 100,
    });
    expect(outputEncodingOf({ output_format: "jpeg", output_compression: 40 })).toEqual({
      format: "jpeg",
      compression: 40,
    });
  });

  it("accepts opaque backgrounds, which this model always renders", () => {
    for (const background of ["auto", "opaque"]) {
      expect(generationRequestSchema.safeParse({ prompt: "a", background }).success).toBe(true);
    }
  });

  it("reads an edit's stream fields from multipart strings", () => {
    const parsed = editFieldsSchema.parse({
      prompt: "a",
      stream: "true",
      partial_images: "2",
      output_format: "webp",
      output_compression: "60",
    });
    expect(parsed).toMatchObject({ stream: true, partial_images: 2, output_compression: 60 });
    expect(responseFormatOf(parsed)).toBe("b64_json");
    expect(editFieldsSchema.parse({ prompt: "a", stream: "false" }).stream).toBe(false);
    expect(errorOf(editFieldsSchema.safeParse({ prompt: "a", stream: "maybe" })).param).toBe(
      "stream",
    );
    expect(
      errorOf(editFieldsSchema.safeParse({ prompt: "a", stream: "true", partial_images: "4" }))
        .param,
    ).toBe("partial_images");
  });

  it("has variations encode but not stream, as OpenAI's variations endpoint does", () => {
    expect(variationFieldsSchema.parse({ output_format: "jpeg" }).output_format).toBe("jpeg");
    expect(errorOf(variationFieldsSchema.safeParse({ stream: "true" })).message).toMatch(
      /Unrecognized request argument/,
    );
  });
});

describe("variation fields schema", () => {
  it("coerces multipart strings and names bad fields", () => {
    const parsed = variationFieldsSchema.parse({ n: "3", size: "256x256" });
    expect(parsed).toMatchObject({ n: 3 });
    expect(responseFormatOf(parsed)).toBe("url");
    expect(errorOf(variationFieldsSchema.safeParse({ n: "many" })).param).toBe("n");
    expect(errorOf(variationFieldsSchema.safeParse({ n: "12" })).message).toMatch(/at most 10/);
    expect(errorOf(variationFieldsSchema.safeParse({ prompt: "x" })).param).toBe("prompt");
    expect(variationFieldsSchema.parse({ sampler: "ddim" }).sampler).toBe("ddim");
    expect(errorOf(variationFieldsSchema.safeParse({ sampler: "DDIM" })).param).toBe("sampler");
  });

  it.each([
    [{ n: "many" }, "n", "must be an integer"],
    [{ n: "0" }, "n", "must be at least 1"],
    [{ seed: "-1" }, "seed", "must be at least 0"],
    [{ steps: "251" }, "steps", "must be at most 250"],
    [{ steps: "2.5" }, "steps", "must be an integer"],
    [{ decoder_guidance_scale: "high" }, "decoder_guidance_scale", "must be a number"],
    [
      { output_format: "webp", output_compression: "x" },
      "output_compression",
      "must be an integer",
    ],
    [{ prompt: "a", prior_steps: "0" }, "prior_steps", "must be at least 1"],
    [{ prompt: "a", prior_guidance_scale: "21" }, "prior_guidance_scale", "must be at most 20"],
    [
      { prompt: "a", stream: "true", partial_images: "two" },
      "partial_images",
      "must be an integer",
    ],
  ])("a multipart %j names %s: %s", (fields, param, reason) => {
    // The edit schema extends the variation fields, so it answers both kinds of form.
    const error = errorOf(editFieldsSchema.safeParse({ prompt: "a", ...fields }));
    expect(error.param).toBe(param);
    expect(error.message).toContain(reason);
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
