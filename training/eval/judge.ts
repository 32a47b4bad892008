// The committed judge CLIP (training/judge.py) in onnxruntime-node: one ruler for every bundle.
// It embeds any prompt and any picture; the everyday evaluation ranks pictures against prompts
// with it and measures their spread. judge.json is its card (training data, ceiling, goldens).
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { type BundleTokenizer, loadTokenizer } from "@unclip/shared";
import * as ort from "onnxruntime-node";
import { decodePngToTensor } from "../../gpu-runner/src/png.ts";

export const JUDGE_DIR = import.meta.dirname;

export interface JudgeCard {
  files: { image: string; text: string; tokenizer: string; card: string };
  resolution: number;
  context_length: number;
  embed_dim: number;
  prompts_sha256: string;
  ceiling: { r_precision_at_1: number; images: number; per_style: Record<string, number> };
  training: { steps: number; seconds: number; pictures: number };
  golden: {
    prompts: string[];
    input_ids: number[][];
    text_embed: number[][];
    image_embed: number[];
  };
}

export interface Judge {
  card: JudgeCard;
  tokenizer: BundleTokenizer;
  /** Unit text embeddings, one per prompt. */
  embedTexts(prompts: string[]): Promise<Float32Array[]>;
  /** Unit image embeddings of PNG pictures of any size (centre-cropped, resized to the judge's). */
  embedImages(pngs: Uint8Array[]): Promise<Float32Array[]>;
  /** Unit image embeddings of (B, 3, R, R) pictures in [-1, 1] at the judge's resolution. */
  embedTensor(data: Float32Array, batch: number): Promise<Float32Array[]>;
  release(): Promise<void>;
}

export const dot = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
};

export const unit = (a: Float32Array) => {
  const n = Math.sqrt(dot(a, a)) || 1;
  return a.map((v) => v / n);
};

export const rowsOf = (flat: Float32Array, width: number) =>
  Array.from({ length: flat.length / width }, (_, i) => flat.slice(i * width, (i + 1) * width));

/** The index of the prompt whose embedding is closest to the picture's. */
export function nearestPrompt(image: Float32Array, prompts: Float32Array[]): number {
  let best = 0;
  let bestScore = Number.NEGATIVE_INFINITY;
  for (const [k, t] of prompts.entries()) {
    const s = dot(image, t);
    if (s > bestScore) [best, bestScore] = [k, s];
  }
  return best;
}

/** Cosines of every pair among one prompt's pictures: their sum and how many pairs. */
export function pairwiseCosines(embeds: Float32Array[]): { sum: number; pairs: number } {
  let sum = 0;
  let pairs = 0;
  for (let i = 0; i < embeds.length; i++)
    for (let j = i + 1; j < embeds.length; j++) {
      sum += dot(embeds[i], embeds[j]);
      pairs++;
    }
  return { sum, pairs };
}

export async function loadJudge(dir: string = JUDGE_DIR): Promise<Judge> {
  const card: JudgeCard = JSON.parse(await readFile(join(dir, "judge.json"), "utf8"));
  const tokenizer = loadTokenizer(
    JSON.parse(await readFile(join(dir, card.files.tokenizer), "utf8")),
    { contextLength: card.context_length },
  );
  const image = await ort.InferenceSession.create(join(dir, card.files.image));
  const text = await ort.InferenceSession.create(join(dir, card.files.text));
  const expectIo = (s: ort.InferenceSession, file: string, ins: string[], outs: string[]) => {
    if (
      JSON.stringify(s.inputNames) !== JSON.stringify(ins) ||
      !outs.every((o) => s.outputNames.includes(o))
    )
      throw new Error(
        `${file}: expected inputs ${ins} and outputs ${outs}, found ${s.inputNames} -> ${s.outputNames}`,
      );
  };
  expectIo(image, card.files.image, ["image"], ["image_embed"]);
  expectIo(text, card.files.text, ["input_ids"], ["text_embed"]);
  const R = card.resolution;
  const D = card.embed_dim;
  const embedTensor = async (data: Float32Array, batch: number) => {
    const out = await image.run({ image: new ort.Tensor("float32", data, [batch, 3, R, R]) });
    return rowsOf(out.image_embed.data as Float32Array, D).map(unit);
  };
  return {
    card,
    tokenizer,
    async embedTexts(prompts) {
      const L = card.context_length;
      const ids = BigInt64Array.from(
        prompts.flatMap((p) => tokenizer.inputIds(p)),
        (id) => BigInt(id),
      );
      const out = await text.run({
        input_ids: new ort.Tensor("int64", ids, [prompts.length, L]),
      });
      return rowsOf(out.text_embed.data as Float32Array, D).map(unit);
    },
    async embedImages(pngs) {
      const data = new Float32Array(pngs.length * 3 * R * R);
      for (const [i, png] of pngs.entries()) data.set(decodePngToTensor(png, R), i * 3 * R * R);
      return embedTensor(data, pngs.length);
    },
    embedTensor,
    async release() {
      await image.release();
      await text.release();
    },
  };
}
