// Render jobs: what the edge asks the pool to render for one request. Every default is resolved
// (steps and guidance from the manifest, size, the seed derived from the key) before the Contract 2
// key (docs/ARCHITECTURE.md) is computed, so the key covers exactly what the pool renders. Image i
// of a job is the R2 object `<key>/<i>.png`. One builder, `renderJobFor`, serves all operations.
import {
  base64FromBytes,
  type EditFields,
  type GenerationRequest,
  type InterpolationRequest,
  type Operation,
  type PixelParams,
  resolveSeedAndKey,
  type SamplerName,
  sha256Hex,
  type VariationFields,
} from "@unclip/shared";
import type { ServedBundle } from "../bundle/index.ts";
import { ApiError } from "../errors.ts";
import { type PoolPayload, poolPayloadFor } from "../pool/wire.ts";

export const DEFAULT_SIZE = "256x256";

/** An uploaded PNG: its hash for the key, its base64 for the pool. */
export interface UploadedPng {
  sha256: string;
  base64: string;
}

export async function uploadedPng(bytes: Uint8Array): Promise<UploadedPng> {
  return { sha256: await sha256Hex(bytes), base64: base64FromBytes(bytes) };
}

/** A validated public request, tagged with its operation: the builder's one input. */
export type ImageRequest =
  | { operation: "generation"; fields: GenerationRequest }
  | { operation: "interpolation"; fields: InterpolationRequest }
  | { operation: "variation"; fields: VariationFields; image: UploadedPng }
  | { operation: "edit"; fields: EditFields; image: UploadedPng; mask?: UploadedPng };

export interface RenderJob {
  operation: Operation;
  key: string;
  /** Images this request needs: objects 0..count−1 of the key. */
  count: number;
  size: string;
  seed: number;
  bundle: string;
  /** Resolved pixel parameters (seed and input hashes included), stored as object metadata. */
  params: PixelParams;
  /** The pool request body (pool/wire.ts), minus the deadline the pool client adds. */
  payload: PoolPayload;
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

/** Decoder parameters: every operation has them. */
function decodeParams(
  req: VariationFields | GenerationRequest | InterpolationRequest | EditFields,
  bundle: ServedBundle,
) {
  const { decoder } = bundle.manifest.stages;
  return {
    size: checkedSize(req.size, bundle),
    decoder_steps: req.steps ?? decoder.default_steps,
    decoder_guidance_scale: req.decoder_guidance_scale ?? decoder.default_guidance,
    ...decodeSamplers(req, bundle),
  };
}

/** Decoder plus prior parameters: the operations that start from text. */
function textParams(
  req: GenerationRequest | InterpolationRequest | EditFields,
  bundle: ServedBundle,
) {
  const { prior } = bundle.manifest.stages;
  return {
    ...decodeParams(req, bundle),
    prior_steps: req.prior_steps ?? prior.default_steps,
    prior_guidance_scale: req.prior_guidance_scale ?? prior.default_guidance,
    prior_sampler: req.sampler ?? prior.sampler,
  };
}

/** What differs between operations: the images, the key's inputs and the pool's inputs. */
interface OperationParts {
  count: number;
  params: PixelParams & { size: string };
  tokenIds: number[][];
  image?: UploadedPng;
  mask?: UploadedPng;
  /** Pool fields beyond the shared rendering ones (prompts, uploads, n). */
  inputs: Record<string, unknown>;
}

function partsOf(request: ImageRequest, bundle: ServedBundle): OperationParts {
  const ids = (text: string) => bundle.tokenizer.ids(text);
  switch (request.operation) {
    case "generation": {
      const { fields } = request;
      return {
        count: fields.n,
        params: textParams(fields, bundle),
        tokenIds: [ids(fields.prompt)],
        inputs: { prompt: fields.prompt, n: fields.n },
      };
    }
    case "interpolation": {
      const { fields } = request;
      return {
        count: fields.frames,
        params: { ...textParams(fields, bundle), mode: fields.mode, frames: fields.frames },
        tokenIds: [ids(fields.prompt), ids(fields.target_prompt)],
        inputs: { prompt: fields.prompt, target_prompt: fields.target_prompt },
      };
    }
    case "variation": {
      const { fields, image } = request;
      return {
        count: fields.n,
        params: decodeParams(fields, bundle),
        tokenIds: [],
        image,
        inputs: { image_b64: image.base64, n: fields.n },
      };
    }
    case "edit": {
      // Inpainting: text params as a generation, keyed also on the image and the mask (if any).
      const { fields, image, mask } = request;
      return {
        count: fields.n,
        params: textParams(fields, bundle),
        tokenIds: [ids(fields.prompt)],
        image,
        mask,
        inputs: {
          prompt: fields.prompt,
          image_b64: image.base64,
          mask_b64: mask?.base64,
          n: fields.n,
        },
      };
    }
  }
}

/** The render job of a request: its key, seed, resolved params and pool payload. */
export async function renderJobFor(
  request: ImageRequest,
  bundle: ServedBundle,
): Promise<RenderJob> {
  const { count, params, tokenIds, image, mask, inputs } = partsOf(request, bundle);
  const { seed, key } = await resolveSeedAndKey(
    {
      bundle: bundle.id,
      kind: request.operation,
      tokenIds,
      imageSha256: image?.sha256,
      maskSha256: mask?.sha256,
      params,
    },
    request.fields.seed,
  );
  const payload = poolPayloadFor(request.operation, {
    ...inputs,
    bundle: bundle.id,
    seed,
    cache_key: key,
    ...params,
  });
  return {
    operation: request.operation,
    key,
    count,
    size: params.size,
    seed,
    bundle: bundle.id,
    params: {
      ...params,
      seed,
      ...(image ? { image_sha256: image.sha256 } : {}),
      ...(mask ? { mask_sha256: mask.sha256 } : {}),
    },
    payload,
  };
}
