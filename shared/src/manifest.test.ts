import { describe, expect, it } from "vitest";
import { openAiErrorFromZod } from "./errors.ts";
import { bundleIdOf, bundleManifestSchema, nativeResolutionOf } from "./manifest.ts";

const sha = "a".repeat(64);
const io = (name: string, shape: (number | "batch")[], dtype = "float32") => ({
  name,
  dtype,
  shape,
});
const diffusion = () => ({
  schedule: { name: "cosine", timesteps: 1000 },
  default_steps: 25,
  default_guidance: 3,
});

export const exampleManifest = {
  schema_version: 1,
  name: "shapes-tiny",
  version: "2026.11.26",
  tokenizer: { file: "tokenizer.json", sha256: sha, context_length: 16 },
  embedding_dim: 32,
  stages: {
    text_encoder: {
      file: "text_encoder.onnx",
      sha256: sha,
      inputs: [io("input_ids", ["batch", 16], "int64")],
      outputs: [io("text_embed", ["batch", 32]), io("text_tokens", ["batch", 16, 64])],
    },
    image_encoder: {
      file: "image_encoder.onnx",
      sha256: sha,
      inputs: [io("image", ["batch", 3, 16, 16])],
      outputs: [io("image_embed", ["batch", 32])],
      resolution: 16,
    },
    prior: {
      file: "prior.onnx",
      sha256: sha,
      inputs: [io("x_t", ["batch", 32])],
      outputs: [io("pred", ["batch", 32])],
      prediction: "x0",
      embedding_scale: 5.6,
      ...diffusion(),
    },
    decoder: {
      file: "decoder.onnx",
      sha256: sha,
      inputs: [io("x_t", ["batch", 3, 16, 16])],
      outputs: [io("pred", ["batch", 3, 16, 16])],
      prediction: "v",
      resolution: 16,
      ...diffusion(),
    },
    upsamplers: [
      {
        file: "upsampler_32.onnx",
        sha256: sha,
        inputs: [io("x_t", ["batch", 3, 32, 32])],
        outputs: [io("pred", ["batch", 3, 32, 32])],
        prediction: "v",
        input_resolution: 16,
        resolution: 32,
        ...diffusion(),
      },
    ],
  },
};

describe("bundle manifest schema (Contract 4, docs/ARCHITECTURE.md)", () => {
  it("accepts a complete manifest and derives id and native resolution", () => {
    const manifest = bundleManifestSchema.parse(exampleManifest);
    expect(bundleIdOf(manifest)).toBe("shapes-tiny@2026.11.26");
    expect(nativeResolutionOf(manifest)).toBe(32);
    expect(manifest.tokenizer.pad_id).toBe(0);
    expect(manifest.sources).toEqual([]);
  });

  it("reads a manifest without sampler fields as DDIM everywhere, and takes dpmpp_2m per stage", () => {
    const old = bundleManifestSchema.parse(exampleManifest);
    expect(
      [old.stages.prior, old.stages.decoder, ...old.stages.upsamplers].map((s) => s.sampler),
    ).toEqual(["ddim", "ddim", "ddim"]);
    const next = structuredClone(exampleManifest) as typeof exampleManifest & {
      stages: { decoder: { sampler?: string } };
    };
    next.stages.decoder.sampler = "dpmpp_2m";
    expect(bundleManifestSchema.parse(next).stages.decoder.sampler).toBe("dpmpp_2m");
    next.stages.decoder.sampler = "euler";
    const result = bundleManifestSchema.safeParse(next);
    expect(result.success).toBe(false);
    expect(result.error?.issues[0].path).toEqual(["stages", "decoder", "sampler"]);
  });

  it("names the field when an upsampler does not take the previous stage's resolution", () => {
    const broken = structuredClone(exampleManifest);
    broken.stages.upsamplers[0].input_resolution = 8;
    const result = bundleManifestSchema.safeParse(broken);
    expect(result.success).toBe(false);
    const { error } = openAiErrorFromZod(result.error!);
    expect(error.param).toBe("stages.upsamplers[0].input_resolution");
    expect(error.message).toMatch(/previous stage's resolution 16/);
  });

  it.each([
    [["stages", "prior", "sha256"], "abc", "stages.prior.sha256"],
    [["stages", "decoder", "prediction"], "noise", "stages.decoder.prediction"],
    [["stages", "decoder", "schedule", "name"], "sigmoid", "stages.decoder.schedule.name"],
    [["tokenizer", "context_length"], 1, "tokenizer.context_length"],
    [["name"], "Shapes Tiny", "name"],
  ])("names %j when it is invalid", (path, value, param) => {
    const broken = structuredClone(exampleManifest) as Record<string, unknown>;
    let target = broken;
    for (const key of path.slice(0, -1)) target = target[key] as Record<string, unknown>;
    target[path[path.length - 1]] = value;
    const result = bundleManifestSchema.safeParse(broken);
    expect(result.success).toBe(false);
    expect(openAiErrorFromZod(result.error!).error.param).toBe(param);
  });
});
