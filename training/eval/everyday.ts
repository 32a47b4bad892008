// The everyday evaluation of a model bundle, through the shipped runner (what a user gets):
// every prompt of everyday_prompts.tsv, n images each at the bundle's defaults, then
//   judge_r_precision_at_1  the committed judge CLIP (judge.ts; it never saw the generator's
//                           training styles) ranks the image's prompt first among all prompts;
//                           judge_ceiling(_per_style) is the same figure on real renders (judge.json)
//   judge_diversity_cosine  mean pairwise cosine of the judge's image embeddings among the n images
//                           of a prompt (lower: more varied)
//   r_precision_at_1, diversity_cosine  the same with the bundle's own CLIP (its own ruler)
// `--variations-of dir` scores the decoder alone instead: variations (the decoder inverting the
// bundle's CLIP embedding of a real picture) of the real emoji training/judge_real.py wrote,
// judged the same way -> decoder_judge_r_precision_at_1.
// The figures are merged into <model>/eval.json under `everyday`; the images go to --out.
//   npx tsx training/eval/everyday.ts --model models/emoji-gpu [--n 4] [--seed 1] [--out dir] [--limit K]
//   npx tsx training/eval/everyday.ts --model models/emoji-gpu --variations-of dir [--n 1]
// `--from dir` scores the images an earlier run saved with `--out dir` instead of generating;
// `--steps S` runs prior and decoder at S steps instead of the bundle's defaults (2 busy cores);
// `--prior-steps S` / `--decoder-steps S` change one of them;
// `--generate-only --out dir` saves the images without scoring them.
// `--prior-guidance G` / `--decoder-guidance G` sample at another guidance scale than the
// manifest's, and `--record file` writes the figures there instead of into eval.json: a sweep
// of the sampling defaults (training/eval/sweep_defaults.sh) without touching the bundle.
import { createHash } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { base64FromBytes, bytesFromBase64 } from "@unclip/shared";
import { startInProcessRunner } from "../../gpu-runner/src/inProcess.ts";
import { decodePngToTensor } from "../../gpu-runner/src/png.ts";
import { type Judge, loadJudge, nearestPrompt, pairwiseCosines, rowsOf, unit } from "./judge.ts";

const HERE = import.meta.dirname;

export function readPrompts(tsv: string): string[] {
  return tsv
    .split("\n")
    .filter((l) => l.trim() && !l.startsWith("#"))
    .map((l) => l.split("\t")[0]);
}

/** One real picture of training/judge_real.py's index.json. */
interface RealPicture {
  file: string;
  prompt: number;
  set: string;
  hexcode: string;
  split: "held-out" | "training";
}

type Runner = Awaited<ReturnType<typeof startInProcessRunner>>;

/** The bundle's own CLIP as a second, bundle-specific ruler. */
async function ownClip({ bundle }: Runner, prompts: string[]) {
  const enc = bundle.sessions.imageEncoder;
  const res = bundle.manifest.stages.image_encoder.resolution;
  const D = bundle.manifest.embedding_dim;
  const texts: Float32Array[] = [];
  for (const p of prompts) {
    const ids = bundle.tokenizer.inputIds(p);
    const out = await bundle.sessions.textEncoder.run({
      input_ids: { data: BigInt64Array.from(ids, (id) => BigInt(id)), dims: [1, ids.length] },
    });
    texts.push(unit(out.text_embed));
  }
  const embedImages = async (pngs: Uint8Array[]) => {
    const data = new Float32Array(pngs.length * 3 * res * res);
    for (const [i, png] of pngs.entries()) data.set(decodePngToTensor(png, res), i * 3 * res * res);
    const out = await enc.run({ image: { data, dims: [pngs.length, 3, res, res] } });
    return rowsOf(out.image_embed, D).map(unit);
  };
  return { texts, embedImages };
}

/** Judge R@1 and diversity of pictures grouped by their prompt index. */
async function judgeGroups(
  judge: Judge,
  prompts: Float32Array[],
  groups: Map<number, Uint8Array[]>,
) {
  let hits = 0;
  let total = 0;
  let cos = 0;
  let pairs = 0;
  const perPrompt = new Map<number, number>();
  for (const [k, pngs] of groups) {
    const embeds = await judge.embedImages(pngs);
    const hitsK = embeds.filter((e) => nearestPrompt(e, prompts) === k).length;
    const spread = pairwiseCosines(embeds);
    hits += hitsK;
    total += embeds.length;
    cos += spread.sum;
    pairs += spread.pairs;
    perPrompt.set(k, hitsK / embeds.length);
  }
  return { rPrecision: hits / Math.max(total, 1), diversity: cos / Math.max(pairs, 1), perPrompt };
}

/** Images saved as <dir>/<stem>-<i>.png, so a later run can score them with --from. */
async function saveImages(dir: string, stems: string[], images: Uint8Array[][]) {
  await mkdir(dir, { recursive: true });
  for (const [k, pngs] of images.entries())
    for (const [i, png] of pngs.entries()) await writeFile(join(dir, `${stems[k]}-${i}.png`), png);
}

const loadImages = (dir: string, stems: string[], n: number) =>
  Promise.all(
    stems.map((stem) =>
      Promise.all(
        Array.from({ length: n }, (_, i) =>
          readFile(join(dir, `${stem}-${i}.png`)).then((b) => new Uint8Array(b)),
        ),
      ),
    ),
  );

async function mergeEval(model: string, update: (current: Record<string, unknown>) => object) {
  const evalPath = join(model, "eval.json");
  const current = JSON.parse(await readFile(evalPath, "utf8").catch(() => "{}"));
  const everyday = update(current.everyday ?? {});
  await writeFile(evalPath, `${JSON.stringify({ ...current, everyday }, null, 2)}\n`);
}

const DECODER_KEYS = (e: Record<string, unknown>) =>
  Object.fromEntries(Object.entries(e).filter(([k]) => k.startsWith("decoder_")));

const judgeSummary = (judge: Judge) => ({
  judge: {
    card: "training/eval/judge.json",
    training_steps: judge.card.training.steps,
    training_pictures: judge.card.training.pictures,
  },
  judge_ceiling: judge.card.ceiling.r_precision_at_1,
  judge_ceiling_per_style: judge.card.ceiling.per_style,
});

async function main() {
  const { values } = parseArgs({
    options: {
      model: { type: "string" },
      n: { type: "string" },
      seed: { type: "string", default: "1" },
      out: { type: "string" },
      limit: { type: "string" },
      from: { type: "string" },
      steps: { type: "string" },
      "prior-steps": { type: "string" },
      "decoder-steps": { type: "string" },
      "variations-of": { type: "string" },
      "generate-only": { type: "boolean", default: false },
      "prior-guidance": { type: "string" },
      "decoder-guidance": { type: "string" },
      record: { type: "string" },
    },
  });
  const model = values.model ?? "models/emoji-gpu";
  const tsv = await readFile(join(HERE, "everyday_prompts.tsv"), "utf8");
  const allPrompts = readPrompts(tsv);
  const prompts = values.limit ? allPrompts.slice(0, Number(values.limit)) : allPrompts;
  if (values["generate-only"] && !values.out) throw new Error("--generate-only needs --out DIR");
  const startJudge = async () => {
    const judge = await loadJudge();
    if (createHash("sha256").update(tsv).digest("hex") !== judge.card.prompts_sha256)
      throw new Error(
        "judge.json's ceiling was measured on another everyday_prompts.tsv: rerun training/judge.py",
      );
    // the judge ranks among every everyday prompt, whatever --limit generates
    return { judge, judgeTexts: await judge.embedTexts(allPrompts) };
  };
  const loaded = await startInProcessRunner({ bundleDir: model, maxQueue: 10_000 });
  const { bundle, runner } = loaded;
  const { stages } = bundle.manifest;
  const native = runner.pipeline.nativeResolution;
  const priorSteps = Number(values["prior-steps"] ?? values.steps ?? stages.prior.default_steps);
  const decoderSteps = Number(
    values["decoder-steps"] ?? values.steps ?? stages.decoder.default_steps,
  );
  const guidance = {
    prior: Number(values["prior-guidance"] ?? stages.prior.default_guidance),
    decoder: Number(values["decoder-guidance"] ?? stages.decoder.default_guidance),
  };
  // a bad number (NaN, out of range) is refused by the runner's request schema, by field name
  /** eval.json's `everyday`, or the --record file of a sweep. */
  const record = async (update: (current: Record<string, unknown>) => object) =>
    values.record
      ? writeFile(values.record, `${JSON.stringify(update({}), null, 2)}\n`)
      : mergeEval(model, update);
  const rendering = (seed: number) => ({
    bundle: bundle.id,
    seed,
    size: `${native}x${native}`,
    decoder_steps: decoderSteps,
    decoder_guidance_scale: guidance.decoder,
  });
  const started = performance.now();

  if (values["variations-of"]) {
    const dir = values["variations-of"];
    const n = Number(values.n ?? "1");
    const real: RealPicture[] = JSON.parse(await readFile(join(dir, "index.json"), "utf8"));
    const stems = real.map((r) => r.file.replace(/\.png$/, ""));
    const inputs = await Promise.all(
      real.map(async (r) => new Uint8Array(await readFile(join(dir, r.file)))),
    );
    const vary = () =>
      Promise.all(
        real.map(async (_, i) => {
          const res = await runner.submit({
            operation: "variation",
            request: {
              image_b64: base64FromBytes(inputs[i]),
              n,
              ...rendering(Number(values.seed) + i),
            },
          });
          return res.images.map((im) => bytesFromBase64(im.png_b64));
        }),
      );
    const outputs = values.from ? await loadImages(values.from, stems, n) : await vary();
    if (values.out && !values.from) await saveImages(values.out, stems, outputs);
    if (values["generate-only"]) {
      console.log(`${outputs.length}x${n} variations -> ${values.out}`);
      await runner.release();
      return;
    }
    const { judge, judgeTexts } = await startJudge();
    const group = (pics: Uint8Array[][]) => {
      const m = new Map<number, Uint8Array[]>();
      for (const [i, r] of real.entries())
        m.set(r.prompt, [...(m.get(r.prompt) ?? []), ...pics[i]]);
      return m;
    };
    const decoded = await judgeGroups(judge, judgeTexts, group(outputs));
    const truth = await judgeGroups(judge, judgeTexts, group(inputs.map((p) => [p])));
    const count = (key: "set" | "split") =>
      Object.fromEntries(
        [...new Set(real.map((r) => r[key]))].map((v) => [
          v,
          real.filter((r) => r[key] === v).length,
        ]),
      );
    const decoder = {
      decoder_judge_r_precision_at_1: decoded.rPrecision,
      decoder_judge_inputs_r_precision_at_1: truth.rPrecision,
      decoder_inputs: { pictures: real.length, styles: count("set"), split: count("split") },
      decoder_variations_per_picture: n,
      decoder_steps: decoderSteps,
      decoder_seconds: Math.round((performance.now() - started) / 1000),
    };
    await record((current) => ({ ...current, ...decoder }));
    console.log(JSON.stringify(decoder));
    await judge.release();
    await runner.release();
    return;
  }

  const n = Number(values.n ?? "4");
  const generate = () =>
    Promise.all(
      prompts.map(async (prompt, k) => {
        const res = await runner.submit({
          operation: "generation",
          request: {
            ...rendering(Number(values.seed) + k),
            prompt,
            n,
            prior_steps: priorSteps,
            prior_guidance_scale: guidance.prior,
          },
        });
        return res.images.map((im) => bytesFromBase64(im.png_b64));
      }),
    );
  const stems = prompts.map((_, k) => String(k).padStart(3, "0"));
  const images = values.from ? await loadImages(values.from, stems, n) : await generate();
  const genSeconds = (performance.now() - started) / 1000;
  if (values.out && !values.from) {
    await saveImages(values.out, stems, images);
    await writeFile(join(values.out, "prompts.json"), JSON.stringify(prompts));
  }
  if (values["generate-only"]) {
    console.log(`${prompts.length}x${n} images in ${Math.round(genSeconds)}s -> ${values.out}`);
    await runner.release();
    return;
  }
  const { judge, judgeTexts } = await startJudge();
  const judged = await judgeGroups(judge, judgeTexts, new Map(images.entries()));
  const own = await ownClip(loaded, prompts);
  let hitsClip = 0;
  let cosSum = 0;
  let cosPairs = 0;
  const perPrompt: { prompt: string; clip: number; judge: number }[] = [];
  for (const [k, pngs] of images.entries()) {
    const embeds = await own.embedImages(pngs);
    const hits = embeds.filter((e) => nearestPrompt(e, own.texts) === k).length;
    const spread = pairwiseCosines(embeds);
    hitsClip += hits;
    cosSum += spread.sum;
    cosPairs += spread.pairs;
    perPrompt.push({
      prompt: prompts[k],
      clip: hits / pngs.length,
      judge: judged.perPrompt.get(k) ?? 0,
    });
  }
  await judge.release();
  await runner.release();
  const total = images.reduce((s, pngs) => s + pngs.length, 0);
  const everyday = {
    prompts: prompts.length,
    images_per_prompt: n,
    size: `${native}x${native}`,
    steps: { prior: priorSteps, decoder: decoderSteps },
    guidance,
    ...judgeSummary(judge),
    judge_r_precision_at_1: judged.rPrecision,
    judge_r_precision_candidates: allPrompts.length,
    judge_diversity_cosine: judged.diversity,
    own_clip: "r_precision_at_1 and diversity_cosine use the bundle's own CLIP (its own ruler)",
    r_precision_at_1: hitsClip / total,
    r_precision_candidates: prompts.length,
    diversity_cosine: cosSum / Math.max(cosPairs, 1),
    ...(values.from ? {} : { generation_seconds: Math.round(genSeconds) }),
    per_prompt: perPrompt,
  };
  await record((current) => ({ ...everyday, ...DECODER_KEYS(current) }));
  const { per_prompt: _, ...summary } = everyday;
  console.log(JSON.stringify(summary));
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
