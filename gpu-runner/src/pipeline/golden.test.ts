// The full denoising loop (DiffusionSample through the batcher and onnxruntime)
// against the Python sampler's golden run in models/tiny-test/golden/sampler.json.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Batcher } from "../batching/batcher.ts";
import { type LoadedBundle, loadBundle } from "../bundle/load.ts";
import { NOISE_STAGE } from "../noise.ts";
import { alphasCumprodFor, respacedTimesteps } from "../scheduler/schedule.ts";
import {
  type GoldenTensor,
  goldenRow,
  maxAbsDiff,
  readGolden,
  TINY_BUNDLE_DIR,
} from "../testing/tinyBundle.ts";
import { DiffusionSample } from "./diffusion.ts";
import { l2Normalize } from "./embeddings.ts";

interface GoldenLoop {
  steps: number;
  timesteps: number[];
  guidance: number;
  eta: number;
  clip_x0: boolean;
  prediction: "eps" | "x0" | "v";
  inputs: Record<string, GoldenTensor>;
  x_T: GoldenTensor;
  noises: GoldenTensor[];
  output: GoldenTensor;
  image_embed?: GoldenTensor;
}

interface GoldenSampler {
  schedule: { name: "cosine" | "linear"; timesteps: number };
  alphas_cumprod: number[];
  embedding_scale: number;
  prior: GoldenLoop;
  decoder: GoldenLoop;
  decoder_eta1: GoldenLoop;
}

// onnxruntime and PyTorch differ by ~1e-6 per call; a few guided steps amplify it.
const LOOP_TOLERANCE = 2e-3;

describe("DDIM loop against the PyTorch golden run", () => {
  let bundle: LoadedBundle;
  let golden: GoldenSampler;
  beforeAll(async () => {
    bundle = await loadBundle(TINY_BUNDLE_DIR, { providers: ["cpu"], intraOpThreads: 1 });
    golden = readGolden<GoldenSampler>("sampler.json");
  });
  afterAll(() => bundle?.release());

  it("computes the same alphas_cumprod and respaced timesteps", () => {
    const ours = alphasCumprodFor(golden.schedule);
    expect(maxAbsDiff(ours, golden.alphas_cumprod)).toBeLessThan(1e-12);
    for (const loop of [golden.prior, golden.decoder, golden.decoder_eta1]) {
      expect(respacedTimesteps(golden.schedule.timesteps, loop.steps)).toEqual(loop.timesteps);
    }
  });

  async function runLoop(stage: "prior" | "decoder", loop: GoldenLoop): Promise<Float32Array[]> {
    const session = stage === "prior" ? bundle.sessions.prior : bundle.sessions.decoder;
    const batcher = new Batcher(new Map([[stage, session]]), 16);
    const job = { id: "golden", deadline: Number.POSITIVE_INFINITY };
    const batch = loop.x_T.shape[0];
    const samples = Array.from({ length: batch }, (_, r) => {
      const conditional = Object.fromEntries(
        Object.entries(loop.inputs).map(([name, t]) => [name, goldenRow(t, r)]),
      );
      const unconditional = Object.fromEntries(
        Object.entries(conditional).map(([name, v]) => [name, new Float32Array(v.length)]),
      );
      return new DiffusionSample({
        process: {
          stage,
          prediction: loop.prediction,
          alphasCumprod: alphasCumprodFor(golden.schedule),
          clipX0: loop.clip_x0,
          noiseStage: NOISE_STAGE[stage],
          output: "pred",
        },
        job,
        x: goldenRow(loop.x_T, r),
        sampler: "ddim",
        steps: loop.steps,
        guidance: loop.guidance,
        eta: loop.eta,
        conditional,
        unconditional,
        seed: 0,
        index: r,
        stepNoise: (step) => goldenRow(loop.noises[step], r),
      });
    });
    await Promise.all(samples.map((s) => batcher.submit(s)));
    return samples.map((s) => s.sample);
  }

  it("samples the prior (x0, guided, unclipped) and normalises the image embedding", async () => {
    const out = await runLoop("prior", golden.prior);
    out.forEach((x, r) => {
      expect(maxAbsDiff(x, goldenRow(golden.prior.output, r))).toBeLessThan(LOOP_TOLERANCE);
      const embed = l2Normalize(x.map((v) => v / golden.embedding_scale));
      expect(maxAbsDiff(embed, goldenRow(golden.prior.image_embed!, r))).toBeLessThan(
        LOOP_TOLERANCE,
      );
    });
  });

  it("samples the decoder (v, guided, clipped) with η = 0", async () => {
    const out = await runLoop("decoder", golden.decoder);
    out.forEach((x, r) => {
      expect(maxAbsDiff(x, goldenRow(golden.decoder.output, r))).toBeLessThan(LOOP_TOLERANCE);
    });
  });

  it("samples the decoder with η = 1 using the golden step noise", async () => {
    const out = await runLoop("decoder", golden.decoder_eta1);
    out.forEach((x, r) => {
      expect(maxAbsDiff(x, goldenRow(golden.decoder_eta1.output, r))).toBeLessThan(LOOP_TOLERANCE);
    });
  });
});
