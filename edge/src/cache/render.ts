// Render jobs: every default resolved (steps and guidance from the manifest, size, the seed
// derived from the key) before the Contract 2 key (docs/ARCHITECTURE.md) is computed, so the key
// covers exactly what the pool renders. Image i of a job is the R2 object `<key>/<i>.png`.
import {
  base64FromBytes,
  type EditFields,
  type GenerationRequest,
  type InterpolationRequest,
  type PixelParams,
  poolEditRequestSchema,
  poolGenerateRequestSchema,
  poolInterpolateRequestSchema,
  poolVariationRequestSchema,
  resolveSeedAndKey,
  type SamplerName,
  sha256Hex,
  type VariationFields,
} from "@unclip/shared";
import type { ServedBundle } from "../bundle/index.ts";
import { ApiError } from "../errors.ts";
import type { PoolOperation } from "../pool/client.ts";

export const DEFAULT_SIZE = "256x256";

export interface RenderJob {
  kind: "generation" | "variation" | "interpolation" | "edit";
  operation: PoolOperation;
  key: string;
  /** Images this request needs: objects 0..count−1 of the key. */
  count: number;
  size: string;
  seed: number;
  bundle: string;
  /** Resolved pixel parameters (seed included), stored as object metadata. */
  params: PixelParams;
  /** The pool request body, minus the deadline the pool client adds. */
  payload: Record<string, unknown>;
}

function checkedSize(size: string | undefined, bundle: ServedBundle): string {
  const resolved = size ?? DEFAULT_SIZE;
  if (!bundle.sizes.includes(resolved)) {
    throw new ApiError(
      400,
      `Invalid 'size': ${resolved} is not served by this model; use one of ${bundle.sizes.join(", ")}.`,
      "size",
      "invalid_value",
    );
  }
  return resolved;
}

/**
 * The sampler of each diffusion stage: the request's for all of them, else each stage's own
 * from the manifest. Resolved here so the cache key names it. The protocol has one field for
 * all upsamplers, so upsamplers whose manifest samplers differ keep their own (the bundle
 * version in the key covers manifest defaults, as it does for their step counts).
 */
function decodeSamplers(req: { sampler?: SamplerName }, bundle: ServedBundle) {
  const { decoder, upsamplers } = bundle.manifest.stages;
  const upsampler = req.sampler ?? upsamplers[0]?.sampler;
  const shared = upsampler !== undefined && upsamplers.every((u) => u.sampler === upsampler);
  return {
    decoder_sampler: req.sampler ?? decoder.sampler,
    ...(req.sampler !== undefined || shared ? { upsampler_sampler: upsampler } : {}),
  };
}

function textParams(
  req: Pick<
    GenerationRequest,
    "size" | "steps" | "sampler" | "decoder_guidance_scale" | "prior_steps" | "prior_guidance_scale"
  >,
  bundle: ServedBundle,
) {
  const { prior, decoder } = bundle.manifest.stages;
  return {
    size: checkedSize(req.size, bundle),
    decoder_steps: req.steps ?? decoder.default_steps,
    decoder_guidance_scale: req.decoder_guidance_scale ?? decoder.default_guidance,
    prior_steps: req.prior_steps ?? prior.default_steps,
    prior_guidance_scale: req.prior_guidance_scale ?? prior.default_guidance,
    prior_sampler: req.sampler ?? prior.sampler,
    ...decodeSamplers(req, bundle),
  };
}

export async function generationJob(
  req: GenerationRequest,
  bundle: ServedBundle,
): Promise<RenderJob> {
  const params = textParams(req, bundle);
  const { seed, key } = await resolveSeedAndKey(
    { bundle: bundle.id, kind: "generation", tokenIds: [bundle.tokenizer.ids(req.prompt)], params },
    req.seed,
  );
  const payload = poolGenerateRequestSchema.parse({
    prompt: req.prompt,
    n: req.n,
    bundle: bundle.id,
    seed,
    cache_key: key,
    ...params,
  });
  return {
    kind: "generation",
    operation: "generate",
    key,
    count: req.n,
    size: params.size,
    seed,
    bundle: bundle.id,
    params: { ...params, seed },
    payload,
  };
}

export async function interpolationJob(
  req: InterpolationRequest,
  bundle: ServedBundle,
): Promise<RenderJob> {
  const params = { ...textParams(req, bundle), mode: req.mode, frames: req.frames };
  const { seed, key } = await resolveSeedAndKey(
    {
      bundle: bundle.id,
      kind: "interpolation",
      tokenIds: [bundle.tokenizer.ids(req.prompt), bundle.tokenizer.ids(req.target_prompt)],
      params,
    },
    req.seed,
  );
  const payload = poolInterpolateRequestSchema.parse({
    prompt: req.prompt,
    target_prompt: req.target_prompt,
    bundle: bundle.id,
    seed,
    cache_key: key,
    ...params,
  });
  return {
    kind: "interpolation",
    operation: "interpolate",
    key,
    count: req.frames,
    size: params.size,
    seed,
    bundle: bundle.id,
    params: { ...params, seed },
    payload,
  };
}

export async function variationJob(
  fields: VariationFields,
  image: { sha256: string; base64: string },
  bundle: ServedBundle,
): Promise<RenderJob> {
  const { decoder } = bundle.manifest.stages;
  const params = {
    size: checkedSize(fields.size, bundle),
    decoder_steps: fields.steps ?? decoder.default_steps,
    decoder_guidance_scale: fields.decoder_guidance_scale ?? decoder.default_guidance,
    ...decodeSamplers(fields, bundle),
  };
  const { seed, key } = await resolveSeedAndKey(
    { bundle: bundle.id, kind: "variation", tokenIds: [], imageSha256: image.sha256, params },
    fields.seed,
  );
  const payload = poolVariationRequestSchema.parse({
    image_b64: image.base64,
    n: fields.n,
    bundle: bundle.id,
    seed,
    cache_key: key,
    ...params,
  });
  return {
    kind: "variation",
    operation: "variations",
    key,
    count: fields.n,
    size: params.size,
    seed,
    bundle: bundle.id,
    params: { ...params, seed, image_sha256: image.sha256 },
    payload,
  };
}

/** An uploaded PNG: its hash for the key, its base64 for the pool. */
export interface UploadedPng {
  sha256: string;
  base64: string;
}

export async function uploadedPng(bytes: Uint8Array): Promise<UploadedPng> {
  return { sha256: await sha256Hex(bytes), base64: base64FromBytes(bytes) };
}

/** Inpainting: text params as a generation, keyed also on the image and the mask (if any). */
export async function editJob(
  fields: EditFields,
  image: UploadedPng,
  mask: UploadedPng | undefined,
  bundle: ServedBundle,
): Promise<RenderJob> {
  const params = textParams(fields, bundle);
  const { seed, key } = await resolveSeedAndKey(
    {
      bundle: bundle.id,
      kind: "edit",
      tokenIds: [bundle.tokenizer.ids(fields.prompt)],
      imageSha256: image.sha256,
      maskSha256: mask?.sha256,
      params,
    },
    fields.seed,
  );
  const payload = poolEditRequestSchema.parse({
    prompt: fields.prompt,
    image_b64: image.base64,
    mask_b64: mask?.base64,
    n: fields.n,
    bundle: bundle.id,
    seed,
    cache_key: key,
    ...params,
  });
  return {
    kind: "edit",
    operation: "edits",
    key,
    count: fields.n,
    size: params.size,
    seed,
    bundle: bundle.id,
    params: {
      ...params,
      seed,
      image_sha256: image.sha256,
      ...(mask ? { mask_sha256: mask.sha256 } : {}),
    },
    payload,
  };
}
