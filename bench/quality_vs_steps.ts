// Quality against network evaluations for each diffusion stage of a bundle, DDIM vs
// DPM-Solver++(2M): the figures that choose the manifest's default samplers and step counts.
// Per stage, the other stages are held at the reference (DDIM, 250 steps) and only this one
// varies, from the same noise:
//   distance  prior: 1 − cos(image embedding, reference's); decoder / upsampler: RMSE of the
//             image against the reference image, in units of the [0, 1] pixel range;
//   R-prec.   generation R-precision@1 as in training/eval_run.py: the image's CLIP embedding
//             must pick its own caption among `--candidates` distinct captions; for the prior,
//             the sampled image embedding itself (decoding it would cost more than the prior).
// Then whole-pipeline settings (--final) against today's defaults: R-precision and RMSE to the
// all-reference image. Writes JSON (bench/plot_quality.py draws it).
//   nice -n 10 npx tsx bench/quality_vs_steps.ts --model models/emoji-gpu --images 32
import { readFileSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import type { SamplerName } from "@unclip/shared";
import { Batcher } from "../gpu-runner/src/batching/batcher.ts";
import { loadBundle } from "../gpu-runner/src/bundle/load.ts";
import { gaussianNoise, NOISE_STAGE } from "../gpu-runner/src/noise.ts";
import { DiffusionSample, EncoderCall } from "../gpu-runner/src/pipeline/diffusion.ts";
import { l2Normalize } from "../gpu-runner/src/pipeline/embeddings.ts";
import { diffusionProcessesOf, STAGE } from "../gpu-runner/src/pipeline/unclip.ts";
import { resizeSquare } from "../gpu-runner/src/png.ts";

const { values } = parseArgs({
  options: {
    model: { type: "string", default: "models/emoji-gpu" },
    images: { type: "string", default: "32" },
    candidates: { type: "string", default: "100" },
    steps: { type: "string", default: "4,6,8,10,15,20,30,50" },
    reference: { type: "string", default: "250" },
    /**
     * Whole-pipeline settings, today's defaults first: "sampler:prior:decoder:upsampler" or,
     * per stage, "prior_sampler/steps:decoder_sampler/steps:upsampler_sampler/steps".
     */
    final: {
      type: "string",
      default: "ddim:25:25:10,dpmpp_2m:5:10:5,dpmpp_2m:6:12:4,dpmpp_2m:8:10:4,dpmpp_2m:4:8:4",
    },
    out: { type: "string", default: "bench/results/quality_vs_steps.json" },
    threads: { type: "string", default: "2" },
    /** Only the --final settings' R-precision (no reference, no sweeps). */
    "finals-only": { type: "boolean", default: false },
  },
});
const N = Number(values.images);
const STEPS = values.steps.split(",").map(Number);
const REF = Number(values.reference);

const bundle = await loadBundle(values.model, {
  providers: ["cpu"],
  intraOpThreads: Number(values.threads),
});
const { manifest, sessions } = bundle;
const { stages } = manifest;
const batcher = new Batcher(
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
const processes = diffusionProcessesOf(manifest);
const PRIOR = processes.prior;
const DECODER = processes.decoder;
const UP = stages.upsamplers[0];
const UPSAMPLER = processes.upsamplers[0];

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
  await batcher.submit(call);
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
  await batcher.submit(call);
  return l2Normalize(call.outputs[0][enc.outputs[0].name]);
}

type Text = Awaited<ReturnType<typeof encodeText>>;
const zeros = (v: Float32Array) => new Float32Array(v.length);

async function run(samples: DiffusionSample[]): Promise<Float32Array[]> {
  await Promise.all(samples.map((s) => batcher.submit(s)));
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
/** Share of unit image embeddings whose best caption (by cosine) is their own. */
function embeddingRPrecision(embeds: Float32Array[]): number {
  let hits = 0;
  for (const [i, e] of embeds.entries()) {
    const scores = candidateEmbeds.map((c) => dot(e, c));
    if (scores.indexOf(Math.max(...scores)) === i) hits++;
  }
  return hits / embeds.length;
}
async function rPrecision(images: Float32Array[], side: number): Promise<number> {
  const embeds: Float32Array[] = [];
  for (const image of images) embeds.push(await encodeImage(image, side));
  return embeddingRPrecision(embeds);
}
const rmse = (a: Float32Array[], b: Float32Array[]) =>
  a.reduce(
    (s, x, i) => s + Math.sqrt(x.reduce((t, v, j) => t + (v - b[i][j]) ** 2, 0) / x.length) / 2,
    0,
  ) / a.length;
const cosDistance = (a: Float32Array[], b: Float32Array[]) =>
  a.reduce((s, x, i) => s + 1 - dot(x, b[i]), 0) / a.length;

const t0 = performance.now();
const elapsed = () => `${((performance.now() - t0) / 1000).toFixed(0)} s`;
const D = stages.decoder.resolution;
const finalsOnly = values["finals-only"];
let reference: Record<string, number> | null = null;
let refHigh: Float32Array[] | null = null;
interface Point {
  stage: string;
  sampler: SamplerName;
  steps: number;
  distance: number;
  r_precision: number;
}
const points: Point[] = [];
if (!finalsOnly) {
  const refEmbeds = await prior(texts, "ddim", REF);
  console.log(`reference prior done (${elapsed()})`);
  const refLow = await decoder(refEmbeds, texts, "ddim", REF);
  console.log(`reference decoder done (${elapsed()})`);
  refHigh = await upsampler(refLow, "ddim", REF);
  reference = {
    steps: REF,
    r_precision_prior: embeddingRPrecision(refEmbeds),
    r_precision_decoder: await rPrecision(refLow, D),
    r_precision_final: await rPrecision(refHigh, UP.resolution),
  };
  console.log(
    `reference (DDIM ${REF}) ${((performance.now() - t0) / 1000).toFixed(0)} s`,
    reference,
  );

  for (const sampler of ["ddim", "dpmpp_2m"] as const) {
    for (const steps of STEPS) {
      const embeds = await prior(texts, sampler, steps);
      const low = await decoder(refEmbeds, texts, sampler, steps);
      const high = await upsampler(refLow, sampler, steps);
      const row = [
        {
          stage: "prior",
          sampler,
          steps,
          distance: cosDistance(embeds, refEmbeds),
          r_precision: embeddingRPrecision(embeds),
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
}

/** "ddim:25:25:10" (one sampler) or "ddim/4:dpmpp_2m/12:ddim/4" (per stage). */
function parseFinal(spec: string): [SamplerName, number][] {
  const parts = spec.split(":");
  if (parts.length === 4) return parts.slice(1).map((n) => [parts[0] as SamplerName, Number(n)]);
  return parts.map((p) => {
    const [sampler, steps] = p.split("/");
    return [sampler as SamplerName, Number(steps)];
  });
}
const finals = [];
for (const spec of values.final.split(",")) {
  const [[ps, p], [ds, d], [us, u]] = parseFinal(spec);
  const embeds = await prior(texts, ps, p);
  const low = await decoder(embeds, texts, ds, d);
  const high = await upsampler(low, us, u);
  const evals = 2 * p + 2 * d + u;
  const f = {
    setting: spec,
    network_evaluations: evals,
    r_precision_prior: embeddingRPrecision(embeds),
    r_precision_decoder: await rPrecision(low, D),
    r_precision_final: await rPrecision(high, UP.resolution),
    rmse_to_reference: refHigh ? rmse(high, refHigh) : null,
  };
  finals.push(f);
  console.log(
    `final ${spec} (${evals} evals): R(prior)=${f.r_precision_prior.toFixed(3)} R(decoder)=${f.r_precision_decoder.toFixed(3)} R(final)=${f.r_precision_final.toFixed(3)} rmse=${f.rmse_to_reference?.toFixed(4) ?? "-"}`,
  );
}
await bundle.release();
writeFileSync(
  values.out,
  `${JSON.stringify({ bundle: bundle.id, images: N, candidates: candidates.length, reference, points, finals }, null, 1)}\n`,
);
console.log(`wrote ${values.out} in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
