// Contract 3 (docs/ARCHITECTURE.md): what the edge sends to the GPU pool and what comes back. Every
// field is resolved by the edge (defaults applied, seed derived from the cache key), so the pool
// never guesses and the cache key covers exactly what the pool renders.
//
// The protocol is versioned because the edge and the pool are deployed separately: during a
// rollout old and new versions talk to each other. The version is the first segment of every
// job path (signed with the rest of the request). A runner serves the current and the
// previous version's paths and answers each in its own version; an edge falls back to the
// previous version with a runner that does not know the current one (404 on its path).
import { z } from "zod";
import {
  imageSizeSchema,
  MAX_IMAGES_PER_REQUEST,
  MAX_PARTIAL_IMAGES,
  promptSchema,
  seedSchema,
} from "./api.ts";
import { samplerNameSchema } from "./manifest.ts";
import type { Operation } from "./operation.ts";
import { requestIdSchema } from "./requestId.ts";

/** The version this code speaks. v2: operations named as in `Operation`; answers say `protocol`. */
export const PROTOCOL_VERSION = 2;
/** The version still accepted (runner) and spoken when a runner knows no newer (edge). */
export const PREVIOUS_PROTOCOL_VERSION = 1;
export type ProtocolVersion = typeof PROTOCOL_VERSION | typeof PREVIOUS_PROTOCOL_VERSION;
/** Newest first: the order an edge tries them in. */
export const PROTOCOL_VERSIONS = [PROTOCOL_VERSION, PREVIOUS_PROTOCOL_VERSION] as const;

/**
 * Where each operation is posted, per version. v1 named operations by verbs of its own
 * (generate, variations, …); a rename on the wire is a new version, never an edit of an old one.
 */
export const POOL_PATHS: Record<ProtocolVersion, Record<Operation, string>> = {
  2: {
    generation: "/v2/generation",
    variation: "/v2/variation",
    edit: "/v2/edit",
    interpolation: "/v2/interpolation",
  },
  1: {
    generation: "/v1/generate",
    variation: "/v1/variations",
    edit: "/v1/edits",
    interpolation: "/v1/interpolate",
  },
};

/** The job path of an operation in a version (default: the current one). */
export function poolPathOf(operation: Operation, version: ProtocolVersion = PROTOCOL_VERSION) {
  return POOL_PATHS[version][operation];
}

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
  /** For tracing: the edge's cache key of this job; the runner logs it with the job. */
  cache_key: z
    .string()
    .regex(/^[0-9a-f]{64}$/)
    .optional(),
  /**
   * The public request that started this job (`x-request-id`); the runner logs it with the
   * job. Optional, so a request without it (an older edge, the CLI) is still valid.
   */
  request_id: requestIdSchema.optional(),
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

const answer = {
  bundle: z.string(),
  images: z.array(poolImageSchema).min(1),
  timings_ms: z.record(z.string(), z.number()).optional(),
};

/** The answer to a job, in the version of its request: v1 answers carry no `protocol`. */
export const poolResponseSchemas = {
  2: z.strictObject({ protocol: z.literal(2), ...answer }),
  1: z.strictObject(answer),
} satisfies Record<ProtocolVersion, z.ZodType>;

/** What an edge accepts as an answer: the current version's or the previous one's. */
export const poolResponseSchema = z.union([poolResponseSchemas[2], poolResponseSchemas[1]]);

/** What a runner rendered, before it is worded in the version the request came in. */
export type PoolRendered = z.infer<(typeof poolResponseSchemas)[1]>;

/** The answer to a request of `version`. */
export function poolResponseIn(version: ProtocolVersion, rendered: PoolRendered): PoolResponse {
  return version === 1 ? rendered : { protocol: 2, ...rendered };
}

/** The request schema of each operation. Versions 1 and 2 share them: only paths differ. */
export const poolRequestSchemas = {
  generation: poolGenerateRequestSchema,
  variation: poolVariationRequestSchema,
  edit: poolEditRequestSchema,
  interpolation: poolInterpolateRequestSchema,
} satisfies Record<Operation, z.ZodType>;

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
/** An answer in any accepted version, as the edge reads it. */
export type PoolResponse = z.infer<typeof poolResponseSchema>;
export type PoolProgressEvent = z.infer<typeof poolProgressEventSchema>;
export type PoolPartialImage = z.infer<typeof poolPartialImageSchema>;

/** A validated job request with its operation: what the runner admits and runs. */
export type PoolRequest = {
  [O in Operation]: { operation: O; request: z.infer<(typeof poolRequestSchemas)[O]> };
}[Operation];

/** Images a request asks for (an interpolation's frames, else `n`). */
export function imageCountOf(job: PoolRequest): number {
  return job.operation === "interpolation" ? job.request.frames : job.request.n;
}
