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

const nSchema = z
  .number({ error: "must be an integer" })
  .int("must be an integer")
  .min(1, "must be at least 1")
  .max(MAX_IMAGES_PER_REQUEST, `must be at most ${MAX_IMAGES_PER_REQUEST}`);

export const seedSchema = z
  .number({ error: "must be an integer" })
  .int("must be an integer")
  .min(0, "must be at least 0")
  .max(MAX_SEED, `must be at most ${MAX_SEED}`);

const guidanceSchema = z
  .number({ error: "must be a number" })
  .min(0, "must be at least 0")
  .max(20, "must be at most 20");

const stepsSchema = z
  .number({ error: "must be an integer" })
  .int("must be an integer")
  .min(1, "must be at least 1")
  .max(250, "must be at most 250");

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
  response_format: responseFormatSchema.default("url"),
  user: z.string().max(256, "must be at most 256 characters").optional(),
  // The served bundle's id or "dall-e-2"; the edge answers any other name 404 model_not_found.
  model: z.string({ error: "must be a string" }).max(256).nullable().optional(),
};

/** POST /v1/images/generations (JSON). */
export const generationRequestSchema = z.strictObject({
  prompt: promptSchema,
  n: nSchema.default(1),
  ...textParams,
  ...deliveryParams,
  /** Extension: answer 202 with a job id instead of waiting. */
  async: z.boolean({ error: "must be a boolean" }).optional(),
});

/** POST /v1/images/variations (multipart form fields other than `image`, already coerced). */
export const variationFieldsSchema = z.strictObject({
  n: z.coerce.number({ error: "must be an integer" }).pipe(nSchema).default(1),
  size: imageSizeSchema.optional(),
  seed: z.coerce.number({ error: "must be an integer" }).pipe(seedSchema).optional(),
  steps: z.coerce.number({ error: "must be an integer" }).pipe(stepsSchema).optional(),
  sampler: samplerSchema.optional(),
  decoder_guidance_scale: z.coerce
    .number({ error: "must be a number" })
    .pipe(guidanceSchema)
    .optional(),
  response_format: responseFormatSchema.default("url"),
  user: z.string().max(256).optional(),
  model: z.string().max(256).optional(),
});

/** POST /v1/images/edits (multipart form fields other than `image` and `mask`, coerced). */
export const editFieldsSchema = variationFieldsSchema.extend({
  prompt: promptSchema,
  prior_steps: z.coerce.number({ error: "must be an integer" }).pipe(stepsSchema).optional(),
  prior_guidance_scale: z.coerce
    .number({ error: "must be a number" })
    .pipe(guidanceSchema)
    .optional(),
});

/** Extension: POST /v1/images/interpolations — slerp between two prompts (unCLIP fig. 4). */
export const interpolationRequestSchema = z.strictObject({
  prompt: promptSchema,
  target_prompt: promptSchema,
  /** "slerp": between the two prompts' image embeddings; "text_diff": move the first
   *  prompt's image embedding along normalize(z_t(target) − z_t(prompt)) (unCLIP fig. 5). */
  mode: z
    .enum(["slerp", "text_diff"], { error: 'must be "slerp" or "text_diff"' })
    .default("slerp"),
  frames: z
    .number({ error: "must be an integer" })
    .int("must be an integer")
    .min(2, "must be at least 2")
    .max(MAX_IMAGES_PER_REQUEST, `must be at most ${MAX_IMAGES_PER_REQUEST}`)
    .default(5),
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
