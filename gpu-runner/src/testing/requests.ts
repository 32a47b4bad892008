// Protocol request builders for tests and the benchmark.
import type { PoolGenerateRequest } from "@unclip/shared";

export function generateRequest(
  bundle: string,
  overrides: Partial<PoolGenerateRequest> = {},
): PoolGenerateRequest {
  return {
    bundle,
    prompt: "a red circle",
    n: 1,
    seed: 7,
    size: "256x256",
    prior_steps: 3,
    prior_guidance_scale: 2,
    decoder_steps: 3,
    decoder_guidance_scale: 3,
    upsampler_steps: 2,
    ...overrides,
  };
}
