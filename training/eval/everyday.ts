// The everyday evaluation of a model bundle, through the shipped runner (what a user gets):
// every prompt of everyday_prompts.tsv, n images each at the bundle's defaults, then
//   r_precision_at_1  the bundle's own CLIP ranks the image's prompt first among all prompts
//   judge_accuracy    the independent judge (judge.onnx, never saw the generator's training
//                     styles) names the image's prompt; judge_ceiling is its accuracy on real
//                     pictures of those styles (judge.json)
//   diversity_cosine  mean pairwise CLIP image cosine among the n images of a prompt (lower: more varied)
// The figures are merged into <model>/eval.json under `everyday`; the images go to --out.
//   npx tsx training/eval/everyday.ts --model models/emoji-gpu [--n 4] [--seed 1] [--out dir] [--limit K]
// `--from dir` scores the images an earlier run saved with `--out dir` instead of generating;
// `--steps S` runs prior and decoder at S steps instead of the bundle's defaults (2 busy cores).
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { bytesFromBase64 } from "@unclip/shared";
import * as ort from "onnxruntime-node";
import { startInProcessRunner } from "../../gpu-runner/src/inProcess.ts";
import { decodePngToTensor } from "../../gpu-runner/src/png.ts";

const HERE = import.meta.dirname;

export function readPrompts(tsv: string): string[] {
  return tsv
    .split("\n")
    .filter((l) => l.trim() && !l.startsWith("#"))
    .map((l) => l.split("\t")[0]);
}

const dot = (a: Float32Array, b: Float32Array) => a.reduce((s, v, i) => s + v * b[i], 0);
const unit = (a: Float32Array) => {
  const n = Math.sqrt(dot(a, a)) || 1;
  return a.map((v) => v / n);
};
const rows = (flat: Float32Array, width: number) =>
  Array.from({ length: flat.length / width }, (_, i) => flat.slice(i * width, (i + 1) * width));
const argmax = (a: ArrayLike<number>) => {
  let k = 0;
  for (let i = 1; i < a.length; i++) if (a[i] > a[k]) k = i;
  return k;
};

async function main() {
  const { values } = parseArgs({
    options: {
      model: { type: "string" },
      n: { type: "string", default: "4" },
      seed: { type: "string", default: "1" },
      out: { type: "string" },
      limit: { type: "string" },
      from: { type: "string" },
      steps: { type: "string" },
    },
  });
  const model = values.model ?? "models/emoji-gpu";
  const n = Number(values.n);
  let prompts = readPrompts(await readFile(join(HERE, "everyday_prompts.tsv"), "utf8"));
  const judgeFile = await readFile(join(HERE, "judge.json"), "utf8").catch(() => undefined);
  const judgeInfo = judgeFile && JSON.parse(judgeFile);
  if (judgeInfo && JSON.stringify(judgeInfo.prompts) !== JSON.stringify(prompts))
    throw new Error("judge.json was trained on another prompt list: rerun training/judge.py");
  if (!judgeInfo && !values.out)
    throw new Error(
      "training/eval/judge.json missing: run training/judge.py (or pass --out to only generate)",
    );
  if (values.limit) prompts = prompts.slice(0, Number(values.limit));
  const { bundle, runner } = await startInProcessRunner({ bundleDir: model, maxQueue: 10_000 });
  const { stages } = bundle.manifest;
  const native = runner.pipeline.nativeResolution;
  const priorSteps = values.steps ? Number(values.steps) : stages.prior.default_steps;
  const decoderSteps = values.steps ? Number(values.steps) : stages.decoder.default_steps;
  const started = performance.now();
  const generate = () =>
    Promise.all(
      prompts.map(async (prompt, k) => {
        const res = await runner.submit({
          operation: "generation",
          request: {
            bundle: bundle.id,
            prompt,
            n,
            seed: Number(values.seed) + k,
            size: `${native}x${native}`,
            prior_steps: priorSteps,
            prior_guidance_scale: stages.prior.default_guidance,
            decoder_steps: decoderSteps,
            decoder_guidance_scale: stages.decoder.default_guidance,
          },
        });
        return res.images.map((im) => bytesFromBase64(im.png_b64));
      }),
    );
  const saved = (dir: string) =>
    Promise.all(
      prompts.map((_, k) =>
        Promise.all(
          Array.from({ length: n }, (_, i) =>
            readFile(join(dir, `${String(k).padStart(3, "0")}-${i}.png`)).then(
              (b) => new Uint8Array(b),
            ),
          ),
        ),
      ),
    );
  const images = values.from ? await saved(values.from) : await generate();
  const genSeconds = (performance.now() - started) / 1000;
  if (values.out && !values.from) {
    await mkdir(values.out, { recursive: true });
    for (const [k, pngs] of images.entries())
      for (const [i, png] of pngs.entries())
        await writeFile(join(values.out, `${String(k).padStart(3, "0")}-${i}.png`), png);
    await writeFile(join(values.out, "prompts.json"), JSON.stringify(prompts));
  }
  if (!judgeInfo) {
    console.log(
      `images saved to ${values.out}; run training/judge.py, then score them with --from`,
    );
    await runner.release();
    return;
  }
  // the bundle's own CLIP
  const enc = bundle.sessions.imageEncoder;
  const res = stages.image_encoder.resolution;
  const D = bundle.manifest.embedding_dim;
  const textEmbeds: Float32Array[] = [];
  for (const p of prompts) {
    const ids = bundle.tokenizer.inputIds(p);
    const out = await bundle.sessions.textEncoder.run({
      input_ids: { data: BigInt64Array.from(ids, (id) => BigInt(id)), dims: [1, ids.length] },
    });
    textEmbeds.push(unit(out.text_embed));
  }
  const tensors = (pngs: Uint8Array[], side: number) => {
    const data = new Float32Array(pngs.length * 3 * side * side);
    for (const [i, png] of pngs.entries())
      data.set(decodePngToTensor(png, side), i * 3 * side * side);
    return data;
  };
  const embedImages = async (pngs: Uint8Array[]) => {
    const data = tensors(pngs, res);
    const out = await enc.run({ image: { data, dims: [pngs.length, 3, res, res] } });
    return rows(out.image_embed, D).map(unit);
  };
  const judge = await ort.InferenceSession.create(join(HERE, "judge.onnx"));
  const jr = judgeInfo.resolution as number;
  let hitsClip = 0;
  let hitsJudge = 0;
  let total = 0;
  let cosSum = 0;
  let cosPairs = 0;
  const perPrompt: { prompt: string; clip: number; judge: number }[] = [];
  for (const [k, pngs] of images.entries()) {
    const embeds = await embedImages(pngs);
    const data = tensors(pngs, jr);
    const logits = (
      await judge.run({ image: new ort.Tensor("float32", data, [pngs.length, 3, jr, jr]) })
    ).logits.data as Float32Array;
    const judged = rows(logits, judgeInfo.prompts.length).map(argmax);
    let clipK = 0;
    let judgeK = 0;
    for (const [i, e] of embeds.entries()) {
      if (argmax(textEmbeds.map((t) => dot(e, t))) === k) clipK++;
      if (judged[i] === k) judgeK++;
      for (let j = i + 1; j < embeds.length; j++) {
        cosSum += dot(e, embeds[j]);
        cosPairs++;
      }
    }
    hitsClip += clipK;
    hitsJudge += judgeK;
    total += pngs.length;
    perPrompt.push({ prompt: prompts[k], clip: clipK / pngs.length, judge: judgeK / pngs.length });
  }
  await judge.release();
  await runner.release();
  const everyday = {
    prompts: prompts.length,
    images_per_prompt: n,
    size: `${native}x${native}`,
    steps: { prior: priorSteps, decoder: decoderSteps },
    r_precision_at_1: hitsClip / total,
    r_precision_candidates: prompts.length,
    judge_accuracy: hitsJudge / total,
    judge_ceiling: judgeInfo.ceiling_accuracy_on_real_generator_styles,
    diversity_cosine: cosSum / Math.max(cosPairs, 1),
    ...(values.from ? {} : { generation_seconds: Math.round(genSeconds) }),
    per_prompt: perPrompt,
  };
  const evalPath = join(model, "eval.json");
  const current = JSON.parse(await readFile(evalPath, "utf8").catch(() => "{}"));
  await writeFile(evalPath, `${JSON.stringify({ ...current, everyday }, null, 2)}\n`);
  const { per_prompt: _, ...summary } = everyday;
  console.log(JSON.stringify(summary));
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
