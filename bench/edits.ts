// Quality of edits (inpainting) on a bundle, with its own CLIP: for every ordered pair (A, B) of
// the manifest's example prompts, an image generated from A has its centre square (half the
// side, a quarter of the area) redrawn from B (and, as a control, from A). Prints, over all
// pairs with A ≠ B:
//  - kept error: mean and max |edit − input| outside the mask, in 8-bit levels (the API's
//    promise), and the seam: the mean step between a redrawn pixel and its kept neighbour
//    across the mask's border, against the same pixel pairs in the input (a visible border
//    shows as a larger step than the image's own);
//  - prompt following: the bundle's CLIP cosine of the edit with B minus that of the input
//    with B (> 0: moved towards B), the share of pairs where it moved, and R@1 of B among all
//    example prompts for the edit vs. for the input (does CLIP now pick B as the caption?),
//    for the whole image and for the redrawn square alone (cropped, resized to CLIP's input).
// Usage: tsx bench/edits.ts [--model models/emoji-gpu] [--seeds 2] [--size 64x64] [--out dir]
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { base64FromBytes, bytesFromBase64 } from "@unclip/shared";
import { decode, encode } from "fast-png";
import { startInProcessRunner } from "../gpu-runner/src/inProcess.ts";
import { l2Normalize } from "../gpu-runner/src/pipeline/embeddings.ts";
import { decodePngToTensor, resizeSquare } from "../gpu-runner/src/png.ts";

const { values } = parseArgs({
  options: {
    model: { type: "string", default: "models/emoji-gpu" },
    seeds: { type: "string", default: "2" },
    size: { type: "string" },
    /** Also write every input, mask and edit as PNGs here, to look at. */
    out: { type: "string" },
  },
});

const { bundle, runner } = await startInProcessRunner({ bundleDir: values.model, maxQueue: 256 });
await runner.warm();
const { manifest } = bundle;
const prompts = manifest.example_prompts ?? [];
if (prompts.length < 2) throw new Error(`${values.model}: needs ≥ 2 example_prompts`);
const native = manifest.stages.upsamplers.at(-1)?.resolution ?? manifest.stages.decoder.resolution;
const size = values.size ?? `${native}x${native}`;
const side = Number.parseInt(size, 10);
const lo = side / 4;
const hi = (3 * side) / 4;
const inHole = (x: number, y: number) => x >= lo && x < hi && y >= lo && y < hi;
const NEIGHBOURS = [
  [1, 0],
  [-1, 0],
  [0, 1],
  [0, -1],
] as const;

const defaults = {
  bundle: bundle.id,
  size,
  prior_steps: manifest.stages.prior.default_steps,
  prior_guidance_scale: manifest.stages.prior.default_guidance,
  decoder_steps: manifest.stages.decoder.default_steps,
  decoder_guidance_scale: manifest.stages.decoder.default_guidance,
};

async function generate(prompt: string, seed: number): Promise<Uint8Array> {
  const out = await runner.submit({
    operation: "generation",
    request: { ...defaults, prompt, n: 1, seed },
  });
  return bytesFromBase64(out.images[0].png_b64);
}

function maskPng(): Uint8Array {
  const data = new Uint8Array(side * side * 4);
  for (let y = 0; y < side; y++) {
    for (let x = 0; x < side; x++) data[(y * side + x) * 4 + 3] = inHole(x, y) ? 0 : 255;
  }
  return encode({ width: side, height: side, data, channels: 4, depth: 8 });
}

async function clipText(prompt: string): Promise<Float32Array> {
  const ids = bundle.tokenizer.inputIds(prompt);
  const out = await bundle.sessions.textEncoder.run({
    input_ids: { data: BigInt64Array.from(ids, BigInt), dims: [1, ids.length] },
  });
  return l2Normalize(out.text_embed);
}

/** The bundle's CLIP image embedding of the whole PNG, or of its redrawn square only. */
async function clipImage(png: Uint8Array, hole = false): Promise<Float32Array> {
  const encoder = manifest.stages.image_encoder;
  const r = encoder.resolution;
  let pixels = decodePngToTensor(png, r);
  if (hole) {
    const full = decodePngToTensor(png, side);
    const h = hi - lo;
    const crop = new Float32Array(3 * h * h);
    for (let c = 0; c < 3; c++) {
      for (let y = 0; y < h; y++) {
        const from = c * side * side + (y + lo) * side + lo;
        crop.set(full.subarray(from, from + h), c * h * h + y * h);
      }
    }
    pixels = resizeSquare(crop, 3, h, r);
  }
  const out = await bundle.sessions.imageEncoder.run({
    [encoder.inputs[0].name]: { data: pixels, dims: [1, 3, r, r] },
  });
  return l2Normalize(out[encoder.outputs[0].name]);
}

const dot = (a: Float32Array, b: Float32Array) => a.reduce((s, v, i) => s + v * b[i], 0);

const rgbAt = (png: ReturnType<typeof decode>, x: number, y: number, c: number) =>
  png.data[(y * side + x) * png.channels + c];

/** Kept-pixel error of `edit` against `input`. */
function keptError(edit: Uint8Array, input: Uint8Array) {
  const [pe, pi] = [decode(edit), decode(input)];
  let sum = 0;
  let count = 0;
  let max = 0;
  for (let y = 0; y < side; y++) {
    for (let x = 0; x < side; x++) {
      if (inHole(x, y)) continue;
      for (let c = 0; c < 3; c++) {
        const d = Math.abs(rgbAt(pe, x, y, c) - rgbAt(pi, x, y, c));
        sum += d;
        max = Math.max(max, d);
        count += 1;
      }
    }
  }
  return { keptMean: sum / count, keptMax: max };
}

/** Mean |p − q| over pairs of 4-neighbours across the mask's border (p redrawn, q kept). */
function seam(png: Uint8Array): number {
  const image = decode(png);
  let sum = 0;
  let count = 0;
  for (let y = 0; y < side; y++) {
    for (let x = 0; x < side; x++) {
      if (!inHole(x, y)) continue;
      for (const [dx, dy] of NEIGHBOURS) {
        if (inHole(x + dx, y + dy)) continue;
        for (let c = 0; c < 3; c++) {
          sum += Math.abs(rgbAt(image, x, y, c) - rgbAt(image, x + dx, y + dy, c));
          count += 1;
        }
      }
    }
  }
  return sum / count;
}

const textEmbeds = await Promise.all(prompts.map(clipText));
const bestCaption = (image: Float32Array) =>
  textEmbeds.map((t) => dot(t, image)).reduce((best, v, i, all) => (v > all[best] ? i : best), 0);
const mask = maskPng();
const rows: Array<Record<string, number>> = [];
/** Edits that redraw with the input's own prompt: the seam the sampler leaves by itself. */
const controls: Array<Record<string, number>> = [];
const seeds = Number(values.seeds);
const started = performance.now();
for (let s = 0; s < seeds; s++) {
  for (const [a, promptA] of prompts.entries()) {
    const input = await generate(promptA, 1000 + s);
    const inputEmbed = await clipImage(input);
    for (const [b, promptB] of prompts.entries()) {
      const out = await runner.submit({
        operation: "edit",
        request: {
          ...defaults,
          prompt: promptB,
          n: 1,
          seed: 3000 + s,
          image_b64: base64FromBytes(input),
          mask_b64: base64FromBytes(mask),
        },
      });
      const edit = bytesFromBase64(out.images[0].png_b64);
      if (values.out) {
        mkdirSync(values.out, { recursive: true });
        writeFileSync(join(values.out, `seed${s}-${a}-input.png`), input);
        writeFileSync(join(values.out, `seed${s}-${a}-to-${b}.png`), edit);
      }
      const editEmbed = await clipImage(edit);
      (a === b ? controls : rows).push({
        ...keptError(edit, input),
        seamEdit: seam(edit),
        seamInput: seam(input),
        deltaCos: dot(editEmbed, textEmbeds[b]) - dot(inputEmbed, textEmbeds[b]),
        editR1: Number(bestCaption(editEmbed) === b),
        inputR1: Number(bestCaption(inputEmbed) === b),
        holeR1: Number(bestCaption(await clipImage(edit, true)) === b),
        inputHoleR1: Number(bestCaption(await clipImage(input, true)) === b),
      });
    }
  }
}
const mean = (key: string, of = rows) => of.reduce((sum, r) => sum + r[key], 0) / of.length;
const max = (key: string) => Math.max(...rows.map((r) => r[key]));
console.log(
  `${bundle.id}: ${rows.length} edits (${prompts.length} example prompts, ordered pairs × ${seeds} seeds), ` +
    `size ${size}, mask = centre square ${hi - lo}×${hi - lo}, default steps/guidance, ` +
    `${((performance.now() - started) / 1000).toFixed(0)} s`,
);
console.log(
  `kept pixels: mean |edit − input| ${mean("keptMean").toFixed(3)} levels, max ${max("keptMax")}`,
);
console.log(
  `seam: mean |redrawn − kept| across the mask border ${mean("seamEdit").toFixed(1)} levels ` +
    `(the same pixel pairs in the input: ${mean("seamInput").toFixed(1)}; redrawn with the ` +
    `input's own prompt: ${mean("seamEdit", controls).toFixed(1)} vs ${mean("seamInput", controls).toFixed(1)})`,
);
console.log(
  `CLIP cos(edit, B) − cos(input, B): mean ${mean("deltaCos").toFixed(3)}, ` +
    `> 0 in ${((100 * rows.filter((r) => r.deltaCos > 0).length) / rows.length).toFixed(0)} % of edits`,
);
console.log(
  `CLIP R@1 of B among the ${prompts.length} prompts: edit ${mean("editR1").toFixed(2)}, ` +
    `input ${mean("inputR1").toFixed(2)}, chance ${(1 / prompts.length).toFixed(2)}; ` +
    `of the redrawn square alone: edit ${mean("holeR1").toFixed(2)}, input ${mean("inputHoleR1").toFixed(2)}`,
);
await runner.drain(1000);
await bundle.release();
