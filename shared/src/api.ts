// Contract 1 (docs/ARCHITECTURE.md): the public, OpenAI-Images-compatible API, plus our extensions
// (seed, guidance, steps, interpolation, text diffs, async jobs). The edge validates with these;
// the OpenAPI document and the playground are derived from them.
import { z } from "zod";
import { samplerNameSchema } from "./manifest.ts";

/** Sizes every bundle answers (the native output is resampled to them). */
export const PUBLIC_SIZES = ["256x256", "512x512", "1024x1024"] as const;
export const MAX_PROMPT_CHARS = 1000;
export const MAX_IMAGES_PER_REQUEST = 10;
export const MAX_SEED = 4_294_967_295;
/** Variations: the upload limit OpenAI documents for dall-e-2. */
export const MAX_VARIATION_IMAGE_BYTES = 4 * 1024 * 1024;

/** "WxH" with W = H; whether the bundle serves it is checked against `sizesFor(manifest)`. */
export const imageSizeSchema = z
  .string({ error: 'must be a string like "256x256"' })
  .regex(/^([1-9][0-9]{1,4})x\1$/, 'must be a square size like "256x256"');

export const promptSchema = z
  .string({ error: "must be a string" })
  .refine((s) => s.trim().length > 0, "must not be empty")
  .refine((s) => s.length <= MAX_PROMPT_CHARS, `must be at most ${MAX_PROMPT_CHARS} characters`);

/** An integer in [min, max], its messages in the OpenAI error's words (one builder for every bound). */
const integerIn = (min: number, max: number) =>
  z
    .number({ error: "must be an integer" })
    .int("must be an integer")
    .min(min, `must be at least ${min}`)
    .max(max, `must be at most ${max}`);

/** Multipart form fields arrive as text: coerce, then apply the JSON body's own schema. */
const formInteger = (schema: z.ZodNumber) =>
  z.coerce.number({ error: "must be an integer" }).pipe(schema);
const formNumber = (schema: z.ZodNumber) =>
  z.coerce.number({ error: "must be a number" }).pipe(schema);

const nSchema = integerIn(1, MAX_IMAGES_PER_REQUEST);

export const seedSchema = integerIn(0, MAX_SEED);

const guidanceSchema = z
  .number({ error: "must be a number" })
  .min(0, "must be at least 0")
  .max(20, "must be at most 20");

const stepsSchema = integerIn(1, 250);

/**
 * Extension: the sampler of every diffusion stage. Absent: each stage's own default from the
 * manifest (with its default step count); "ddim" reproduces the pre-DPM-Solver images.
 */
export const samplerSchema = z.enum(samplerNameSchema.options, {
  error: `must be one of ${samplerNameSchema.options.map((s) => `"${s}"`).join(", ")}`,
});

export const responseFormatSchema = z.enum(["url", "b64_json"], {
  error: 'must be "url" or "b64_json"',
});

/** Encodings of an answer's images; the cache keeps one PNG per key and encodes on the way out. */
export const OUTPUT_FORMATS = ["png", "webp", "jpeg"] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];
/** OpenAI's default `output_compression` (for webp and jpeg: 100 = the highest quality). */
export const DEFAULT_OUTPUT_COMPRESSION = 100;
/** Streaming: at most this many partial images before the completed one (OpenAI's limit). */
export const MAX_PARTIAL_IMAGES = 3;

const formatList = OUTPUT_FORMATS.map((f) => `"${f}"`).join(", ");

export const outputFormatSchema = z.enum(OUTPUT_FORMATS, {
  error: (issue) =>
    issue.input === "gif" || issue.input === "svg"
      ? `this model renders raster images as ${formatList}; ${JSON.stringify(issue.input)} is not supported`
      : `must be one of ${formatList}`,
});

const compressionSchema = integerIn(0, 100);

const partialImagesSchema = integerIn(0, MAX_PARTIAL_IMAGES);

/** The model renders opaque RGB: "transparent" is refused by name rather than ignored. */
export const backgroundSchema = z.enum(["auto", "opaque"], {
  error: (issue) =>
    issue.input === "transparent"
      ? 'this model renders opaque images only (no alpha channel); use "opaque" or "auto"'
      : 'must be "auto" or "opaque" (this model renders opaque images only)',
});

/** A multipart field: "true" / "false" as the SDK's form encoding sends them. */
const formBooleanSchema = z.union(
  [z.boolean(), z.enum(["true", "false"]).transform((value) => value === "true")],
  { error: "must be true or false" },
);

/** Parameters that change the pixels, shared by every kind of request. */
const renderingParams = {
  size: imageSizeSchema.optional(),
  seed: seedSchema.optional(),
  steps: stepsSchema.optional(),
  sampler: samplerSchema.optional(),
  decoder_guidance_scale: guidanceSchema.optional(),
};

const textParams = {
  ...renderingParams,
  prior_steps: stepsSchema.optional(),
  prior_guidance_scale: guidanceSchema.optional(),
};

const deliveryParams = {
  // No schema default: a stream's default is "b64_json" (responseFormatOf).
  response_format: responseFormatSchema.optional(),
  user: z.string().max(256, "must be at most 256 characters").optional(),
  // The served bundle's id or "dall-e-2"; the edge answers any other name 404 model_not_found.
  model: z.string({ error: "must be a string" }).max(256).nullable().optional(),
};

/** How the images are encoded: the same cached pixels in any of these (never in the key). */
const encodingParams = {
  output_format: outputFormatSchema.optional(),
  output_compression: compressionSchema.optional(),
  background: backgroundSchema.optional(),
};

/** OpenAI's streaming: partial images then the completed one, as server-sent events. */
const streamingParams = {
  stream: z.boolean({ error: "must be a boolean" }).optional(),
  partial_images: partialImagesSchema.optional(),
};

interface DeliveryFields {
  n?: number;
  response_format?: "url" | "b64_json";
  output_format?: OutputFormat;
  output_compression?: number;
  stream?: boolean;
  async?: boolean;
}

/**
 * Rules between fields. `n > 1` with `stream` is refused: OpenAI's stream events carry no
 * image index, so a client could not tell whose partial an event is.
 */
function checkDelivery(req: DeliveryFields, ctx: z.RefinementCtx): void {
  const issue = (path: string, message: string) =>
    ctx.addIssue({ code: "custom", path: [path], message, input: req });
  if (req.output_compression !== undefined && (req.output_format ?? "png") === "png") {
    issue(
      "output_compression",
      'applies to "webp" and "jpeg" only; set output_format to one of them (png is lossless)',
    );
  }
  if (!req.stream) return;
  if (req.response_format === "url") {
    issue(
      "response_format",
      'stream: true sends every image inline as b64_json; "url" cannot be streamed (drop stream, or use "b64_json")',
    );
  }
  if ((req.n ?? 1) > 1) {
    issue(
      "n",
      "stream: true renders one image per request (stream events carry no image index); use n: 1",
    );
  }
  if (req.async) issue("async", "cannot be combined with stream: true; use one or the other");
}

/** The answer's `response_format`: as asked, else "b64_json" for a stream and "url" otherwise. */
export function responseFormatOf(req: {
  response_format?: "url" | "b64_json";
  stream?: boolean;
}): "url" | "b64_json" {
  return req.response_format ?? (req.stream ? "b64_json" : "url");
}

/** The answer's encoding, defaults applied (compression is meaningful for webp and jpeg only). */
export function outputEncodingOf(req: {
  output_format?: OutputFormat;
  output_compression?: number;
}): { format: OutputFormat; compression: number } {
  const format = req.output_format ?? "png";
  return {
    format,
    compression: format === "png" ? 100 : (req.output_compression ?? DEFAULT_OUTPUT_COMPRESSION),
  };
}

/** POST /v1/images/generations (JSON). */
export const generationRequestSchema = z
  .strictObject({
    prompt: promptSchema,
    n: nSchema.default(1),
    ...textParams,
    ...deliveryParams,
    ...encodingParams,
    ...streamingParams,
    /** Extension: answer 202 with a job id instead of waiting. */
    async: z.boolean({ error: "must be a boolean" }).optional(),
  })
  .superRefine(checkDelivery);

const formEncodingParams = {
  output_format: outputFormatSchema.optional(),
  output_compression: formInteger(compressionSchema).optional(),
  background: backgroundSchema.optional(),
};

/** Multipart form fields of a variation (other than `image`), before the rules between them. */
const variationFieldsObject = z.strictObject({
  n: formInteger(nSchema).default(1),
  size: imageSizeSchema.optional(),
  seed: formInteger(seedSchema).optional(),
  steps: formInteger(stepsSchema).optional(),
  sampler: samplerSchema.optional(),
  decoder_guidance_scale: formNumber(guidanceSchema).optional(),
  response_format: responseFormatSchema.optional(),
  user: z.string().max(256).optional(),
  model: z.string().max(256).optional(),
  ...formEncodingParams,
});

/** POST /v1/images/variations (multipart form fields other than `image`, already coerced). */
export const variationFieldsSchema = variationFieldsObject.superRefine(checkDelivery);

/** POST /v1/images/edits (multipart form fields other than `image` and `mask`, coerced). */
export const editFieldsSchema = variationFieldsObject
  .extend({
    prompt: promptSchema,
    prior_steps: formInteger(stepsSchema).optional(),
    prior_guidance_scale: formNumber(guidanceSchema).optional(),
    stream: formBooleanSchema.optional(),
    partial_images: formInteger(partialImagesSchema).optional(),
  })
  .superRefine(checkDelivery);

/** Extension: POST /v1/images/interpolations — slerp between two prompts (unCLIP fig. 4). */
export const interpolationRequestSchema = z.strictObject({
  prompt: promptSchema,
  target_prompt: promptSchema,
  /** "slerp": between the two prompts' image embeddings; "text_diff": move the first
   *  prompt's image embedding along normalize(z_t(target) − z_t(prompt)) (unCLIP fig. 5). */
  mode: z
    .enum(["slerp", "text_diff"], { error: 'must be "slerp" or "text_diff"' })
    .default("slerp"),
  frames: integerIn(2, MAX_IMAGES_PER_REQUEST).default(5),
  ...textParams,
  ...deliveryParams,
});

export const imageDataSchema = z.union([
  z.strictObject({ url: z.string(), revised_prompt: z.string().optional() }),
  z.strictObject({ b64_json: z.string(), revised_prompt: z.string().optional() }),
]);

export const imagesResponseSchema = z.object({
  created: z.number().int(),
  data: z.array(imageDataSchema),
});

/** Extension: async jobs. */
export const jobStatusSchema = z.object({
  id: z.string(),
  object: z.literal("image.job"),
  status: z.enum(["queued", "running", "succeeded", "failed"]),
  progress: z.number().min(0).max(1),
  created: z.number().int(),
  result: imagesResponseSchema.optional(),
  error: z
    .object({
      message: z.string(),
      type: z.string(),
      param: z.string().nullable(),
      code: z.string().nullable(),
    })
    .optional(),
});

export type GenerationRequest = z.infer<typeof generationRequestSchema>;
export type GenerationRequestInput = z.input<typeof generationRequestSchema>;
export type VariationFields = z.infer<typeof variationFieldsSchema>;
export type EditFields = z.infer<typeof editFieldsSchema>;
export type InterpolationRequest = z.infer<typeof interpolationRequestSchema>;
export type ImagesResponse = z.infer<typeof imagesResponseSchema>;
export type JobStatus = z.infer<typeof jobStatusSchema>;

/** Sizes a bundle serves: the public ones plus its native output. */
export function sizesFor(nativeResolution: number): string[] {
  const native = `${nativeResolution}x${nativeResolution}`;
  return PUBLIC_SIZES.includes(native as (typeof PUBLIC_SIZES)[number])
    ? [...PUBLIC_SIZES]
    : [native, ...PUBLIC_SIZES];
}

/** "256x256" → 256 (sizes are square, checked by imageSizeSchema). */
export function sideOf(size: string): number {
  return Number.parseInt(size.split("x")[0], 10);
}

/** GET /v1/models/{id}: OpenAI's model object. */
export const modelSchema = z.object({
  id: z.string(),
  object: z.literal("model"),
  /** Unix seconds. */
  created: z.number().int(),
  owned_by: z.string(),
});

/** GET /v1/models. */
export const modelListSchema = z.object({
  object: z.literal("list"),
  data: z.array(modelSchema),
});

export type Model = z.infer<typeof modelSchema>;
export type ModelList = z.infer<typeof modelListSchema>;
