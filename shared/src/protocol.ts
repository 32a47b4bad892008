// Contract 3: what the edge sends to the GPU pool and what comes back. Every field is
// resolved by the edge (defaults applied, seed derived from the cache key), so the pool
// never guesses and the cache key covers exactly what the pool renders.
import { z } from "zod";
import {
  imageSizeSchema,
  MAX_IMAGES_PER_REQUEST,
  MAX_PARTIAL_IMAGES,
  promptSchema,
  seedSchema,
} from "./api.ts";
import { samplerNameSchema } from "./manifest.ts";

export const POOL_PATHS = {
  generate: "/v1/generate",
  variations: "/v1/variations",
  interpolate: "/v1/interpolate",
  edits: "/v1/edits",
} as const;

const steps = z.number().int().min(1).max(1000);
const guidance = z.number().min(0).max(50);

/** Resolved rendering parameters every pool job carries. */
const rendering = {
  /** The bundle the edge computed the cache key for; the pool refuses another one (409). */
  bundle: z.string().min(1),
  seed: seedSchema,
  size: imageSizeSchema,
  decoder_steps: steps,
  decoder_guidance_scale: guidance,
  upsampler_steps: steps.optional(),
  /** Sampler per stage; absent: the stage's manifest `sampler` (the edge always resolves it). */
  decoder_sampler: samplerNameSchema.optional(),
  upsampler_sampler: samplerNameSchema.optional(),
  /** For tracing only: the edge's cache key of this job. */
  cache_key: z
    .string()
    .regex(/^[0-9a-f]{64}$/)
    .optional(),
  /** Absolute deadline (ms since epoch); the pool drops the job at its next step after it. */
  deadline: z.number().int().positive().optional(),
  /**
   * Streaming only: `partial` events per image before the result (x0 predictions at evenly
   * spaced steps of the decoder and upsampler schedule). Never changes the final pixels, so
   * it is not part of the cache key; absent or 0 costs nothing.
   */
  partial_images: z.number().int().min(0).max(MAX_PARTIAL_IMAGES).optional(),
};

const textRendering = {
  ...rendering,
  prior_steps: steps,
  prior_guidance_scale: guidance,
  prior_sampler: samplerNameSchema.optional(),
};

export const poolGenerateRequestSchema = z.strictObject({
  prompt: promptSchema,
  n: z.number().int().min(1).max(MAX_IMAGES_PER_REQUEST),
  ...textRendering,
});

export const poolVariationRequestSchema = z.strictObject({
  /** The uploaded PNG, base64. */
  image_b64: z.string().min(1),
  n: z.number().int().min(1).max(MAX_IMAGES_PER_REQUEST),
  ...rendering,
});

/** Inpainting: the prompt's image embedding decodes only where the mask is transparent. */
export const poolEditRequestSchema = z.strictObject({
  prompt: promptSchema,
  /** The uploaded PNG, base64; its own alpha is the mask when `mask_b64` is absent. */
  image_b64: z.string().min(1),
  /** A PNG of the image's size: fully transparent pixels are redrawn, the others kept. */
  mask_b64: z.string().min(1).optional(),
  n: z.number().int().min(1).max(MAX_IMAGES_PER_REQUEST),
  ...textRendering,
});

export const poolInterpolateRequestSchema = z.strictObject({
  prompt: promptSchema,
  target_prompt: promptSchema,
  mode: z.enum(["slerp", "text_diff"]),
  frames: z.number().int().min(2).max(MAX_IMAGES_PER_REQUEST),
  ...textRendering,
});

export const poolImageSchema = z.strictObject({
  index: z.number().int().min(0),
  /** PNG bytes, base64. */
  png_b64: z.string().min(1),
  /** sha256 of the PNG bytes: the edge stores an image only when this matches. */
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  width: z.number().int().positive(),
  height: z.number().int().positive(),
});

export const poolResponseSchema = z.strictObject({
  bundle: z.string(),
  images: z.array(poolImageSchema).min(1),
  timings_ms: z.record(z.string(), z.number()).optional(),
});

/** Server-sent event bodies when the edge asks for `accept: text/event-stream`. */
export const poolProgressEventSchema = z.strictObject({
  stage: z.enum([
    "queued",
    "text_encoder",
    "image_encoder",
    "prior",
    "decoder",
    "upsampler",
    "encode",
  ]),
  step: z.number().int().min(0),
  total: z.number().int().min(0),
  /** Overall fraction done, 0..1. */
  progress: z.number().min(0).max(1),
});

/**
 * A `partial` server-sent event: image `index`'s current x0 prediction, resized to the job's
 * size, as a PNG. `partial_image_index` counts 0..partial_images−1 per image.
 */
export const poolPartialImageSchema = z.strictObject({
  index: z.number().int().min(0),
  partial_image_index: z
    .number()
    .int()
    .min(0)
    .max(MAX_PARTIAL_IMAGES - 1),
  png_b64: z.string().min(1),
  width: z.number().int().positive(),
  height: z.number().int().positive(),
});

export type PoolGenerateRequest = z.infer<typeof poolGenerateRequestSchema>;
export type PoolVariationRequest = z.infer<typeof poolVariationRequestSchema>;
export type PoolEditRequest = z.infer<typeof poolEditRequestSchema>;
export type PoolInterpolateRequest = z.infer<typeof poolInterpolateRequestSchema>;
export type PoolImage = z.infer<typeof poolImageSchema>;
export type PoolResponse = z.infer<typeof poolResponseSchema>;
export type PoolProgressEvent = z.infer<typeof poolProgressEventSchema>;
export type PoolPartialImage = z.infer<typeof poolPartialImageSchema>;
