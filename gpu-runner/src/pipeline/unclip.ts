// The unCLIP pipeline (Ramesh et al. 2022) over the batcher, one method per operation
// (shared/src/operation.ts): tokenize → text encoder → prior → decoder → upsampler(s) → PNG. Each image runs its
// own chain of work items; the batcher batches them with every other job's items.
import {
  type BundleManifest,
  type BundleTokenizer,
  base64FromBytes,
  bytesFromBase64,
  nativeResolutionOf,
  type PoolEditRequest,
  type PoolGenerateRequest,
  type PoolImage,
  type PoolInterpolateRequest,
  type PoolRequest,
  type PoolVariationRequest,
  sha256Hex,
  sideOf,
} from "@unclip/shared";
import type { Batcher } from "../batching/batcher.ts";
import { RunnerError } from "../errors.ts";
import { gaussianNoise, NOISE_STAGE } from "../noise.ts";
import { decodePngToTensor, encodeRgbPng, resizeSquare, tensorToRgbBytes } from "../png.ts";
import { alphasCumprodFor } from "../scheduler/schedule.ts";
import { type DiffusionProcess, DiffusionSample, EncoderCall } from "./diffusion.ts";
import { differenceDirection, l2Normalize, slerp } from "./embeddings.ts";
import {
  compositeKept,
  type EditInput,
  editInputFrom,
  knownRegionAt,
  maskedSampling,
} from "./inpaint.ts";
import { PartialImages, partialSchedule } from "./partials.ts";
import type { PipelineJob } from "./pipelineJob.ts";

/** Stage keys of the batcher (and the `stage` label of the metrics). */
export const STAGE = {
  textEncoder: "text_encoder",
  imageEncoder: "image_encoder",
  prior: "prior",
  decoder: "decoder",
  upsampler: (k: number) => `upsampler_${k}`,
} as const;

interface TextConditioning {
  textEmbed: Float32Array; // (D,)
  textTokens: Float32Array; // (L·W,)
  textMask: Float32Array; // (L,)
}

export interface PipelineOptions {
  /** DDIM η for every stage. */
  eta: number;
}

type DecodeParams = Pick<
  PoolVariationRequest,
  | "seed"
  | "partial_images"
  | "decoder_steps"
  | "decoder_guidance_scale"
  | "decoder_sampler"
  | "upsampler_steps"
  | "upsampler_sampler"
  | "size"
>;

type PriorParams = Pick<
  PoolGenerateRequest,
  "seed" | "prior_steps" | "prior_guidance_scale" | "prior_sampler"
>;

export interface DiffusionProcesses {
  prior: DiffusionProcess;
  decoder: DiffusionProcess;
  upsamplers: DiffusionProcess[];
}

/** Each diffusion stage of a bundle as the sampling loop sees it (schedule, prediction, noise). */
export function diffusionProcessesOf(manifest: BundleManifest): DiffusionProcesses {
  const { stages } = manifest;
  const process = (
    stage: string,
    spec: BundleManifest["stages"]["prior"] | BundleManifest["stages"]["decoder"],
    clipX0: boolean,
    noiseStage: number,
  ): DiffusionProcess => ({
    stage,
    prediction: spec.prediction,
    alphasCumprod: alphasCumprodFor(spec.schedule),
    clipX0,
    noiseStage,
    output: spec.outputs[0].name,
  });
  return {
    prior: process(STAGE.prior, stages.prior, false, NOISE_STAGE.prior),
    decoder: process(STAGE.decoder, stages.decoder, true, NOISE_STAGE.decoder),
    upsamplers: stages.upsamplers.map((u, k) =>
      process(STAGE.upsampler(k), u, true, NOISE_STAGE.upsampler0 + k),
    ),
  };
}

export class UnclipPipeline {
  private readonly processes: DiffusionProcesses;
  readonly nativeResolution: number;

  constructor(
    private readonly manifest: BundleManifest,
    private readonly tokenizer: BundleTokenizer,
    private readonly batcher: Batcher,
    private readonly options: PipelineOptions,
  ) {
    this.processes = diffusionProcessesOf(manifest);
    this.nativeResolution = nativeResolutionOf(manifest);
  }

  /**
   * Renders a request the runner admitted: its bundle and size were checked there (Runner.admit),
   * so the pipeline trusts them.
   */
  render(job: PoolRequest, run: PipelineJob): Promise<PoolImage[]> {
    switch (job.operation) {
      case "generation":
        return this.generation(job.request, run);
      case "variation":
        return this.variation(job.request, run);
      case "edit":
        return this.edit(job.request, run);
      case "interpolation":
        return this.interpolation(job.request, run);
    }
  }

  private generation(req: PoolGenerateRequest, job: PipelineJob): Promise<PoolImage[]> {
    return this.fromText(req, job);
  }

  /**
   * Inpainting: the prompt's image embedding from the prior, as in generate, then a decoder
   * and upsamplers that keep the unmasked pixels (pipeline/inpaint.ts).
   */
  private edit(req: PoolEditRequest, job: PipelineJob): Promise<PoolImage[]> {
    const input = editInputFrom(
      bytesFromBase64(req.image_b64),
      req.mask_b64 === undefined ? undefined : bytesFromBase64(req.mask_b64),
    );
    return this.fromText(req, job, input);
  }

  /** Prompt → prior → decoder and upsamplers, optionally keeping an edit's known pixels. */
  private async fromText(
    req: PoolGenerateRequest,
    job: PipelineJob,
    input?: EditInput,
  ): Promise<PoolImage[]> {
    job.plan(req.n * (req.prior_steps + this.decodeSteps(req)));
    job.report("queued", 0, 0);
    const [text] = await this.encodeText([req.prompt], job);
    return Promise.all(
      Array.from({ length: req.n }, async (_, index) => {
        const imageEmbed = await this.samplePrior(text, req, index, job);
        return this.decodeToPng(imageEmbed, text, req, index, index, job, input);
      }),
    );
  }

  private async variation(req: PoolVariationRequest, job: PipelineJob): Promise<PoolImage[]> {
    const encoder = this.manifest.stages.image_encoder;
    const image = decodePngToTensor(bytesFromBase64(req.image_b64), encoder.resolution);
    job.plan(req.n * this.decodeSteps(req));
    job.report("queued", 0, 0);
    const call = new EncoderCall(STAGE.imageEncoder, job, [{ [encoder.inputs[0].name]: image }]);
    await this.batcher.submit(call);
    job.report("image_encoder", 1, 1);
    const imageEmbed = l2Normalize(call.outputs[0][encoder.outputs[0].name]);
    const noText = this.emptyText();
    return Promise.all(
      Array.from({ length: req.n }, (_, index) =>
        this.decodeToPng(imageEmbed, noText, req, index, index, job),
      ),
    );
  }

  /**
   * Frames between two prompts. "slerp": slerp between the two prompts' image embeddings
   * (both sampled from the prior with the same noise), unCLIP fig. 4. "text_diff": slerp from
   * the prompt's image embedding towards z_d = normalize(z_t(target) − z_t(prompt)) for
   * θ ∈ [0, 0.5], unCLIP fig. 5. Every frame uses the same decoder noise, and the decoder sees
   * only the embedding (no text tokens), so the frames differ by the embedding alone.
   */
  private async interpolation(req: PoolInterpolateRequest, job: PipelineJob): Promise<PoolImage[]> {
    const priors = req.mode === "slerp" ? 2 : 1;
    job.plan(priors * req.prior_steps + req.frames * this.decodeSteps(req));
    job.report("queued", 0, 0);
    const [source, target] = await this.encodeText([req.prompt, req.target_prompt], job);
    const from = await this.samplePrior(source, req, 0, job);
    let to: Float32Array;
    let thetaMax: number;
    if (req.mode === "slerp") {
      [to, thetaMax] = [await this.samplePrior(target, req, 0, job), 1];
    } else {
      [to, thetaMax] = [differenceDirection(source.textEmbed, target.textEmbed), 0.5];
    }
    const noText = this.emptyText();
    return Promise.all(
      Array.from({ length: req.frames }, (_, frame) => {
        const embed = slerp(from, to, (thetaMax * frame) / (req.frames - 1));
        return this.decodeToPng(embed, noText, req, 0, frame, job);
      }),
    );
  }

  private decodeSteps(req: DecodeParams): number {
    const ups = this.manifest.stages.upsamplers;
    return (
      req.decoder_steps + ups.reduce((s, u) => s + (req.upsampler_steps ?? u.default_steps), 0)
    );
  }

  /** Text conditioning with no text: zero tokens, zero mask (the decoder's unconditional text). */
  private emptyText(): TextConditioning {
    const L = this.tokenizer.contextLength;
    const W = this.sizeOf("decoder", "text_tokens") / L;
    return {
      textEmbed: new Float32Array(this.manifest.embedding_dim),
      textTokens: new Float32Array(L * W),
      textMask: new Float32Array(L),
    };
  }

  /** Values per sample of an input of a stage, from the manifest shape. */
  private sizeOf(stage: "decoder" | "prior", input: string): number {
    const spec = this.manifest.stages[stage].inputs.find((i) => i.name === input);
    if (!spec) throw new RunnerError("bad_bundle", `${stage} has no input "${input}"`);
    return (spec.shape.slice(1) as number[]).reduce((a, b) => a * b, 1);
  }

  /** One text-encoder call per prompt (one row each: see Batcher's `unbatched`). */
  private async encodeText(prompts: string[], job: PipelineJob): Promise<TextConditioning[]> {
    const { pad_id } = this.manifest.tokenizer;
    return Promise.all(
      prompts.map(async (prompt) => {
        const ids = this.tokenizer.inputIds(prompt);
        const call = new EncoderCall(STAGE.textEncoder, job, [
          { input_ids: BigInt64Array.from(ids, (id) => BigInt(id)) },
        ]);
        await this.batcher.submit(call);
        job.report("text_encoder", 1, 1);
        const [out] = call.outputs;
        return {
          textEmbed: out.text_embed,
          textTokens: out.text_tokens,
          textMask: Float32Array.from(ids, (id) => (id !== pad_id ? 1 : 0)),
        };
      }),
    );
  }

  /** Prior sampling: x0 of the scaled CLIP image embedding → unit image embedding. */
  private async samplePrior(
    text: TextConditioning,
    req: PriorParams,
    index: number,
    job: PipelineJob,
  ): Promise<Float32Array> {
    const D = this.manifest.embedding_dim;
    const sample = new DiffusionSample({
      process: this.processes.prior,
      job,
      x: gaussianNoise({ seed: req.seed, index, stage: NOISE_STAGE.prior, step: 0 }, D),
      sampler: req.prior_sampler ?? this.manifest.stages.prior.sampler,
      steps: req.prior_steps,
      guidance: req.prior_guidance_scale,
      eta: this.options.eta,
      conditional: {
        text_embed: text.textEmbed,
        text_tokens: text.textTokens,
        text_mask: text.textMask,
      },
      unconditional: {
        text_embed: new Float32Array(text.textEmbed.length),
        text_tokens: new Float32Array(text.textTokens.length),
        text_mask: new Float32Array(text.textMask.length),
      },
      seed: req.seed,
      index,
      onStep: (step, total) => job.advance("prior", step, total),
    });
    await this.batcher.submit(sample);
    const scale = this.manifest.stages.prior.embedding_scale;
    return l2Normalize(sample.sample.map((v) => v / scale));
  }

  /**
   * The partial images of one image when a streamed answer asked for them, else undefined:
   * then no sample gets a preview and the denoising loop does nothing extra.
   */
  private partialsOf(
    req: DecodeParams,
    job: PipelineJob,
    index: number,
    size: number,
    edit?: EditInput,
  ): PartialImages | undefined {
    if (!req.partial_images || !job.wantsPartials) return undefined;
    const ups = this.manifest.stages.upsamplers;
    const stageSteps = [
      req.decoder_steps,
      ...ups.map((u) => req.upsampler_steps ?? u.default_steps),
    ];
    return new PartialImages({
      schedule: partialSchedule(stageSteps, req.partial_images),
      index,
      size,
      finish: edit && ((chw) => compositeKept(chw, edit, size)),
      emit: (partial) => job.partial(partial),
    });
  }

  /**
   * Decoder then upsamplers, then the PNG at the requested size. `noiseIndex` keys the noise
   * (interpolation frames share one), `index` is the image's place in the answer. With
   * `edit`, every stage samples around the edit's kept pixels and the PNG keeps them exactly.
   */
  private async decodeToPng(
    imageEmbed: Float32Array,
    text: TextConditioning,
    req: DecodeParams,
    noiseIndex: number,
    index: number,
    job: PipelineJob,
    edit?: EditInput,
  ): Promise<PoolImage> {
    const { decoder, upsamplers } = this.manifest.stages;
    const R = decoder.resolution;
    const out = sideOf(req.size);
    const partials = this.partialsOf(req, job, index, out, edit);
    const keepKnown = (side: number, noiseStage: number) =>
      edit &&
      maskedSampling(knownRegionAt(edit, side), {
        seed: req.seed,
        index: noiseIndex,
        stage: NOISE_STAGE.knownRegion + noiseStage,
      });
    const dec = new DiffusionSample({
      process: this.processes.decoder,
      job,
      x: gaussianNoise(
        { seed: req.seed, index: noiseIndex, stage: NOISE_STAGE.decoder, step: 0 },
        3 * R * R,
      ),
      sampler: req.decoder_sampler ?? decoder.sampler,
      steps: req.decoder_steps,
      guidance: req.decoder_guidance_scale,
      eta: this.options.eta,
      conditional: {
        image_embed: imageEmbed,
        text_tokens: text.textTokens,
        text_mask: text.textMask,
      },
      unconditional: {
        image_embed: new Float32Array(imageEmbed.length),
        text_tokens: new Float32Array(text.textTokens.length),
        text_mask: new Float32Array(text.textMask.length),
      },
      seed: req.seed,
      index: noiseIndex,
      onStep: (step, total) => job.advance("decoder", step, total),
      constrain: keepKnown(R, NOISE_STAGE.decoder),
      preview: partials?.previewFor(0),
    });
    await this.batcher.submit(dec);
    let image = dec.sample;
    let side = R;
    for (const [k, up] of upsamplers.entries()) {
      const sample = new DiffusionSample({
        process: this.processes.upsamplers[k],
        job,
        x: gaussianNoise(
          { seed: req.seed, index: noiseIndex, stage: NOISE_STAGE.upsampler0 + k, step: 0 },
          3 * up.resolution * up.resolution,
        ),
        sampler: req.upsampler_sampler ?? up.sampler,
        steps: req.upsampler_steps ?? up.default_steps,
        guidance: 1,
        eta: this.options.eta,
        conditional: { low_res: image },
        seed: req.seed,
        index: noiseIndex,
        onStep: (step, total) => job.advance("upsampler", step, total),
        constrain: keepKnown(up.resolution, NOISE_STAGE.upsampler0 + k),
        preview: partials?.previewFor(k + 1),
      });
      await this.batcher.submit(sample);
      image = sample.sample;
      side = up.resolution;
    }
    const resized = resizeSquare(image, 3, side, out);
    const rgb = tensorToRgbBytes(edit ? compositeKept(resized, edit, out) : resized, out);
    const png = await encodeRgbPng(rgb, out);
    await partials?.settled(); // every partial goes out before the final image
    job.report("encode", 1, 1);
    return {
      index,
      png_b64: base64FromBytes(png),
      sha256: await sha256Hex(png),
      width: out,
      height: out,
    };
  }
}
