// Contract 4 (docs/ARCHITECTURE.md): the model bundle manifest. Written by
// training/export_bundle.py, read by the gpu-runner (to load and check the ONNX graphs) and by
// the edge (tokenizer, sizes, defaults).
import { z } from "zod";

const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, "must be a lowercase hex sha256");

/** One input or output of an ONNX graph; "batch" marks the dynamic batch dimension. */
export const tensorSpecSchema = z.strictObject({
  name: z.string().min(1),
  dtype: z.enum(["float32", "int64"]),
  shape: z.array(z.union([z.literal("batch"), z.number().int().positive()])).min(1),
});

export const noiseScheduleSchema = z.strictObject({
  name: z.enum(["cosine", "linear"]),
  timesteps: z.number().int().min(2).max(10_000),
});

/** What the denoising network predicts: the noise, the clean sample, or v (Salimans & Ho 2022). */
export const predictionTypeSchema = z.enum(["eps", "x0", "v"]);

/**
 * How a stage walks its respaced timesteps: "ddim" (Song et al. 2021) or "dpmpp_2m"
 * (DPM-Solver++(2M), Lu et al. 2022: the same ODE in far fewer steps). Manifests written
 * before the field existed mean "ddim".
 */
export const samplerNameSchema = z.enum(["ddim", "dpmpp_2m"]);

const onnxStage = {
  file: z.string().min(1),
  sha256: sha256Hex,
  inputs: z.array(tensorSpecSchema).min(1),
  outputs: z.array(tensorSpecSchema).min(1),
};

const diffusionStage = {
  ...onnxStage,
  schedule: noiseScheduleSchema,
  prediction: predictionTypeSchema,
  /** The sampler `default_steps` is meant for; requests may pick another one. */
  sampler: samplerNameSchema.default("ddim"),
  default_steps: z.number().int().min(1).max(1000),
  default_guidance: z.number().min(0).max(50),
};

export const textEncoderStageSchema = z.strictObject(onnxStage);
export const imageEncoderStageSchema = z.strictObject({
  ...onnxStage,
  resolution: z.number().int().positive(),
});
export const priorStageSchema = z.strictObject({
  ...diffusionStage,
  /** The prior diffuses x = image_embed · embedding_scale; the runner divides it back out. */
  embedding_scale: z.number().positive(),
});
export const decoderStageSchema = z.strictObject({
  ...diffusionStage,
  resolution: z.number().int().positive(),
});
export const upsamplerStageSchema = z.strictObject({
  ...diffusionStage,
  input_resolution: z.number().int().positive(),
  resolution: z.number().int().positive(),
});

export const bundleSourceSchema = z.strictObject({
  name: z.string(),
  license: z.string(),
  attribution: z.string(),
  url: z.string().optional(),
});

export const bundleManifestSchema = z
  .strictObject({
    schema_version: z.literal(1),
    name: z.string().regex(/^[a-z0-9][a-z0-9._-]*$/, "must be a lowercase slug"),
    version: z.string().min(1),
    description: z.string().optional(),
    /** Prompts this bundle draws well: the playground offers them as one-click suggestions. */
    example_prompts: z.array(z.string().min(1).max(200)).max(12).optional(),
    tokenizer: z.strictObject({
      file: z.string().min(1),
      sha256: sha256Hex,
      context_length: z.number().int().min(2).max(1024),
      pad_id: z.number().int().min(0).default(0),
    }),
    embedding_dim: z.number().int().positive(),
    sources: z.array(bundleSourceSchema).default([]),
    stages: z.strictObject({
      text_encoder: textEncoderStageSchema,
      image_encoder: imageEncoderStageSchema,
      prior: priorStageSchema,
      decoder: decoderStageSchema,
      upsamplers: z.array(upsamplerStageSchema),
    }),
  })
  .superRefine((m, ctx) => {
    // Each upsampler must take exactly what the stage before it produces.
    let previous = m.stages.decoder.resolution;
    m.stages.upsamplers.forEach((u, i) => {
      if (u.input_resolution !== previous) {
        ctx.addIssue({
          code: "custom",
          path: ["stages", "upsamplers", i, "input_resolution"],
          message: `must equal the previous stage's resolution ${previous} (found ${u.input_resolution})`,
        });
      }
      previous = u.resolution;
    });
  });

export type TensorSpec = z.infer<typeof tensorSpecSchema>;
export type NoiseSchedule = z.infer<typeof noiseScheduleSchema>;
export type PredictionType = z.infer<typeof predictionTypeSchema>;
export type SamplerName = z.infer<typeof samplerNameSchema>;
export type PriorStage = z.infer<typeof priorStageSchema>;
export type DecoderStage = z.infer<typeof decoderStageSchema>;
export type UpsamplerStage = z.infer<typeof upsamplerStageSchema>;
export type BundleManifest = z.infer<typeof bundleManifestSchema>;

/** The identity that goes into cache keys and protocol messages. */
export function bundleIdOf(manifest: Pick<BundleManifest, "name" | "version">): string {
  return `${manifest.name}@${manifest.version}`;
}

/** Side of the square image the last stage produces. */
export function nativeResolutionOf(manifest: BundleManifest): number {
  const ups = manifest.stages.upsamplers;
  return ups.length > 0 ? ups[ups.length - 1].resolution : manifest.stages.decoder.resolution;
}
