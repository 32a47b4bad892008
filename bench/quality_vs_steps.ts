// Quality against network evaluations for each diffusion stage of a bundle, DDIM vs
// DPM-Solver++(2M): the figures that choose the manifest's default samplers and step counts.
// Per stage, the other stages are held at the reference (DDIM, 250 steps) and only this one
// varies, from the same noise:
//   distance  prior: 1 − cos(image embedding, reference's); decoder / upsampler: RMSE of the
//             image against the reference image, in units of the [0, 1] pixel range;
//   R-prec.   generation R-precision@1 as in training/eval.py: the image's CLIP embedding
//             must pick its own caption among `--candidates` distinct captions (the prior's
//             embeddings are decoded by a fixed decoder setting, `PRIOR_DECODE`).
// Then whole-pipeline settings (--final) against today's defaults: R-precision and RMSE to the
// all-reference image. Writes JSON (bench/plot_quality.py draws it).
//   nice -n 10 npx tsx bench/quality_vs_steps.ts --model models/emoji-gpu --images 32
import { readFileSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import type { SamplerName } from "@unclip/shared";
import { BatchScheduler } from "../gpu-runner/src/batching/scheduler.ts";
import { loadBundle } from "../gpu-runner/src/bundle/load.ts";
import { gaussianNoise, NOISE_STAGE } from "../gpu-runner/src/noise.ts";
import {
  type DiffusionProcess,
  DiffusionSample,
  EncoderCall,
} from "../gpu-runner/src/pipeline/diffusion.ts";
import { l2Normalize } from "../gpu-runner/src/pipeline/embeddings.ts";
import { STAGE } from "../gpu-runner/src/pipeline/unclip.ts";
import { resizeSquare } from "../gpu-runner/src/png.ts";
import { alphasCumprodFor } from "../gpu-runner/src/scheduler/schedule.ts";

const { values } = parseArgs({
  options: {
    model: { type: "string", default: "models/emoji-gpu" },
    images: { type: "string", default: "32" },
    candidates: { type: "string", default: "100" },
    steps: { type: "string", default: "4,6,8,10,15,20,30,50" },
    reference: { type: "string", default: "250" },
    /** Whole-pipeline settings "sampler:prior:decoder:upsampler", today's defaults first. */
    final: {
      type: "string",
      default: "ddim:25:25:10,dpmpp_2m:5:10:5,dpmpp_2m:6:12:4,dpmpp_2m:8:10:4,dpmpp_2m:4:8:4",
    },
    out: { type: "string", default: "bench/results/quality_vs_steps.json" },
    threads: { type: "string", default: "2" },
  },
});
const N = Number(values.images);
const STEPS = values.steps.split(",").map(Number);
const REF = Number(values.reference);
const PRIOR_DECODE = { sampler: "dpmpp_2m" as const, steps: 10 };

const bundle = await loadBundle(values.model, {
  providers: ["cpu"],
  intraOpThreads: Number(values.threads),
});
const { manifest, sessions } = bundle;
const { stages } = manifest;
const scheduler = new BatchScheduler(
  new Map([
    [STAGE.textEncoder, sessions.textEncoder],
    [STAGE.imageEncoder, sessions.imageEncoder],
    [STAGE.prior, sessions.prior],
    [STAGE.decoder, sessions.decoder],
    ...sessions.upsamplers.map((s, k) => [STAGE.upsampler(k), s] as const),
  ]),
  16,
  {},
  new Set([STAGE.textEncoder, STAGE.imageEncoder]),
);
const job = { id: "quality", deadline: Number.POSITIVE_INFINITY };
const process = (
  stage: string,
  spec: typeof stages.decoder | typeof stages.prior,
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
const PRIOR = process(STAGE.prior, stages.prior, false, NOISE_STAGE.prior);
const DECODER = process(STAGE.decoder, stages.decoder, true, NOISE_STAGE.decoder);
const UP = stages.upsamplers[0];
const UPSAMPLER = process(STAGE.upsampler(0), UP, true, NOISE_STAGE.upsampler0);

// Captions as training/unclip/data_emoji.py writes them, for a seeded pick of CLDR labels.
function emojiCaptions(count: number): string[] {
  const data: { label: string }[] = JSON.parse(
    readFileSync("node_modules/emojibase-data/en/data.json", "utf8"),
  );
  const labels = [...new Set(data.map((e) => e.label))];
  let state = 12345;
  const rand = () => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return state / 2 ** 31;
  };
  for (let i = labels.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [labels[i], labels[j]] = [labels[j], labels[i]];
  }
  return labels.slice(0, count).map((l, i) => `${i % 2 ? "twitter" : "google"} style ${l}`);
}

async function encodeText(prompt: string) {
  const ids = bundle.tokenizer.inputIds(prompt);
  const call = new EncoderCall(STAGE.textEncoder, job, [
    { input_ids: BigInt64Array.from(ids, (id) => BigInt(id)) },
  ]);
  await scheduler.submit(call);
  const pad = manifest.tokenizer.pad_id;
  return {
    embed: call.outputs[0].text_embed,
    tokens: call.outputs[0].text_tokens,
    mask: Float32Array.from(ids, (id) => (id !== pad ? 1 : 0)),
  };
}

async function encodeImage(image: Float32Array, side: number): Promise<Float32Array> {
  const enc = stages.image_encoder;
  const call = new EncoderCall(STAGE.imageEncoder, job, [
    { [enc.inputs[0].name]: resizeSquare(image, 3, side, enc.resolution) },
  ]);
  await scheduler.submit(call);
  return l2Normalize(call.outputs[0][enc.outputs[0].name]);
}

type Text = Awaited<ReturnType<typeof encodeText>>;
const zeros = (v: Float32Array) => new Float32Array(v.length);

async function run(samples: DiffusionSample[]): Promise<Float32Array[]> {
  await Promise.all(samples.map((s) => scheduler.submit(s)));
  return samples.map((s) => s.sample);
}

function prior(texts: Text[], sampler: SamplerName, steps: number) {
  return run(
    texts.map(
      (t, i) =>
        new DiffusionSample({
          process: PRIOR,
          job,
          x: gaussianNoise(
            { seed: 1, index: i, stage: NOISE_STAGE.prior, step: 0 },
            manifest.embedding_dim,
          ),
          sampler,
          steps,
          guidance: stages.prior.default_guidance,
          eta: 0,
          conditional: { text_embed: t.embed, text_tokens: t.tokens, text_mask: t.mask },
          unconditional: {
            text_embed: zeros(t.embed),
            text_tokens: zeros(t.tokens),
            text_mask: zeros(t.mask),
          },
          seed: 1,
          index: i,
        }),
    ),
  ).then((xs) => xs.map((x) => l2Normalize(x.map((v) => v / stages.prior.embedding_scale))));
}

function decoder(embeds: Float32Array[], texts: Text[], sampler: SamplerName, steps: number) {
  const R = stages.decoder.resolution;
  return run(
    embeds.map(
      (e, i) =>
        new DiffusionSample({
          process: DECODER,
          job,
          x: gaussianNoise({ seed: 1, index: i, stage: NOISE_STAGE.decoder, step: 0 }, 3 * R * R),
          sampler,
          steps,
          guidance: stages.decoder.default_guidance,
          eta: 0,
          conditional: { image_embed: e, text_tokens: texts[i].tokens, text_mask: texts[i].mask },
          unconditional: {
            image_embed: zeros(e),
            text_tokens: zeros(texts[i].tokens),
            text_mask: zeros(texts[i].mask),
          },
          seed: 1,
          index: i,
        }),
    ),
  );
}

function upsampler(lows: Float32Array[], sampler: SamplerName, steps: number) {
  return run(
    lows.map(
      (low, i) =>
        new DiffusionSample({
          process: UPSAMPLER,
          job,
          x: gaussianNoise(
            { seed: 1, index: i, stage: NOISE_STAGE.upsampler0, step: 0 },
            3 * UP.resolution ** 2,
          ),
          sampler,
          steps,
          guidance: 1,
          eta: 0,
          conditional: { low_res: low },
          seed: 1,
          index: i,
        }),
    ),
  );
}

const candidates = emojiCaptions(Number(values.candidates));
console.log(`quality: ${bundle.id}, ${N} images, R-precision among ${candidates.length} captions`);
const candidateTexts: Text[] = [];
for (const c of candidates) candidateTexts.push(await encodeText(c));
const candidateEmbeds = candidateTexts.map((t) => l2Normalize(t.embed));
const texts = candidateTexts.slice(0, N);

const dot = (a: Float32Array, b: Float32Array) => a.reduce((s, v, i) => s + v * b[i], 0);
async function rPrecision(images: Float32Array[], side: number): Promise<number> {
  let hits = 0;
  for (const [i, image] of images.entries()) {
    const e = await encodeImage(image, side);
    const scores = candidateEmbeds.map((c) => dot(e, c));
    if (scores.indexOf(Math.max(...scores)) === i) hits++;
  }
  return hits / images.length;
}
const rmse = (a: Float32Array[], b: Float32Array[]) =>
  a.reduce(
    (s, x, i) => s + Math.sqrt(x.reduce((t, v, j) => t + (v - b[i][j]) ** 2, 0) / x.length) / 2,
    0,
  ) / a.length;
const cosDistance = (a: Float32Array[], b: Float32Array[]) =>
  a.reduce((s, x, i) => s + 1 - dot(x, b[i]), 0) / a.length;

const t0 = performance.now();
const refEmbeds = await prior(texts, "ddim", REF);
const refLow = await decoder(refEmbeds, texts, "ddim", REF);
const refHigh = await upsampler(refLow, "ddim", REF);
const D = stages.decoder.resolution;
const reference = {
  steps: REF,
  r_precision_decoder: await rPrecision(refLow, D),
  r_precision_final: await rPrecision(refHigh, UP.resolution),
};
console.log(`reference (DDIM ${REF}) ${((performance.now() - t0) / 1000).toFixed(0)} s`, reference);

interface Point {
  stage: string;
  sampler: SamplerName;
  steps: number;
  distance: number;
  r_precision: number;
}
const points: Point[] = [];
for (const sampler of ["ddim", "dpmpp_2m"] as const) {
  for (const steps of STEPS) {
    const embeds = await prior(texts, sampler, steps);
    const decoded = await decoder(embeds, texts, PRIOR_DECODE.sampler, PRIOR_DECODE.steps);
    const low = await decoder(refEmbeds, texts, sampler, steps);
    const high = await upsampler(refLow, sampler, steps);
    const row = [
      {
        stage: "prior",
        sampler,
        steps,
        distance: cosDistance(embeds, refEmbeds),
        r_precision: await rPrecision(decoded, D),
      },
      {
        stage: "decoder",
        sampler,
        steps,
        distance: rmse(low, refLow),
        r_precision: await rPrecision(low, D),
      },
      {
        stage: "upsampler",
        sampler,
        steps,
        distance: rmse(high, refHigh),
        r_precision: await rPrecision(high, UP.resolution),
      },
    ];
    points.push(...row);
    console.log(
      `${sampler.padEnd(9)}${String(steps).padStart(3)} steps  ${row.map((p) => `${p.stage} d=${p.distance.toFixed(4)} R=${p.r_precision.toFixed(3)}`).join("  ")}  (${((performance.now() - t0) / 1000).toFixed(0)} s)`,
    );
  }
}

const finals = [];
for (const spec of values.final.split(",")) {
  const [sampler, p, d, u] = spec.split(":") as [SamplerName, string, string, string];
  const embeds = await prior(texts, sampler, Number(p));
  const low = await decoder(embeds, texts, sampler, Number(d));
  const high = await upsampler(low, sampler, Number(u));
  const evals = 2 * Number(p) + 2 * Number(d) + Number(u);
  const f = {
    sampler,
    prior_steps: Number(p),
    decoder_steps: Number(d),
    upsampler_steps: Number(u),
    network_evaluations: evals,
    r_precision_decoder: await rPrecision(low, D),
    r_precision_final: await rPrecision(high, UP.resolution),
    rmse_to_reference: rmse(high, refHigh),
  };
  finals.push(f);
  console.log(
    `final ${spec} (${evals} evals): R(decoder)=${f.r_precision_decoder.toFixed(3)} R(final)=${f.r_precision_final.toFixed(3)} rmse=${f.rmse_to_reference.toFixed(4)}`,
  );
}
await bundle.release();
writeFileSync(
  values.out,
  `${JSON.stringify({ bundle: bundle.id, images: N, candidates: candidates.length, prior_decode: PRIOR_DECODE, reference, points, finals }, null, 1)}\n`,
);
console.log(`wrote ${values.out} in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
