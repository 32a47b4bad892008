// Step 1 of the GPU check (gpu-check.sh): load the bundle on the CPU provider and on the
// provider under test, and print one JSON document with
//   - placement: which provider ran each graph's nodes (read from onnxruntime's profile; with a
//     list that names no cpu the load itself refuses a graph that fell back to the CPU),
//   - stages: each graph run on the same seeded inputs (2 and 16 rows) on both providers, the
//     largest difference of every output and whether it is within tolerance,
//   - images: whole requests (same prompts, seeds, default steps) through a runner on each
//     provider, compared pixel by pixel; a PNG sheet (top row CPU, bottom row provider).
// Exit 1 when a graph fell back or a stage is out of tolerance.
//
//   node provider-check.mjs --bundle models/emoji-gpu --providers cuda --sheet out/sheet.png
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { encode } from "fast-png";
import { loadBundle } from "../src/bundle/load.ts";
import {
  type Feed,
  type OrtStageSession,
  probePlacement,
  type StageSession,
} from "../src/bundle/session.ts";
import { type ExecutionProvider, PROVIDERS, parseConfig } from "../src/config.ts";
import { RunnerMetrics } from "../src/metrics.ts";
import { gaussianNoise } from "../src/noise.ts";
import { decodePngToTensor } from "../src/png.ts";
import { Runner } from "../src/runner.ts";

/**
 * Per-stage tolerance: |gpu − cpu| ≤ ATOL + RTOL · max|cpu| for every element. Loose enough for
 * TF32 matrix products (onnxruntime's CUDA provider uses TF32 by default: 10-bit mantissa,
 * relative error ~1e-3 per product) and cuDNN's other convolution algorithms; tight enough that
 * a wrong kernel, layout or dtype (errors of order max|cpu|) fails.
 */
export const ATOL = 1e-3;
export const RTOL = 1e-2;

const PROMPTS = ["a smiling face with heart eyes", "a red apple", "a woman mage", "a yellow star"];

const { values } = parseArgs({
  options: {
    bundle: { type: "string", default: "models/emoji-gpu" },
    providers: { type: "string", default: "cuda" },
    reference: { type: "string", default: "cpu" },
    sheet: { type: "string" },
    images: { type: "string", default: "4" },
  },
});
const asProviders = (s: string) =>
  s.split(",").map((p) => {
    if (!(PROVIDERS as readonly string[]).includes(p)) throw new Error(`unknown provider ${p}`);
    return p as ExecutionProvider;
  });
const bundleDir = values.bundle;
const testProviders = asProviders(values.providers);
const refProviders = asProviders(values.reference);

/** Seeded inputs for one graph: token ids from real prompts, Gaussian floats, timesteps 0..999. */
function seededFeeds(
  session: StageSession,
  rows: number,
  seed: number,
  ids: BigInt64Array[],
): Record<string, Feed> {
  return Object.fromEntries(
    session.inputs.map((spec, k) => {
      const dims = [rows, ...(spec.shape.slice(1) as number[])];
      const size = dims.reduce((a, b) => a * b, 1);
      if (spec.dtype === "int64") {
        const data = new BigInt64Array(size);
        const per = size / rows;
        for (let r = 0; r < rows; r++) data.set(ids[r % ids.length].subarray(0, per), r * per);
        return [spec.name, { data, dims }];
      }
      const noise = gaussianNoise({ seed, index: rows, stage: 100 + k, step: 0 }, size);
      if (spec.name === "timestep") {
        for (let i = 0; i < size; i++) noise[i] = Math.floor(((noise[i] + 4) / 8) * 1000) % 1000;
      } else if (spec.name.endsWith("mask")) {
        const per = size / rows;
        for (let i = 0; i < size; i++) noise[i] = i % per < 5 ? 1 : 0;
      }
      return [spec.name, { data: noise, dims }];
    }),
  );
}

interface Compared {
  maxAbsDiff: number;
  maxAbsRef: number;
  withinTolerance: boolean;
}

function compare(ref: Float32Array, test: Float32Array): Compared {
  let maxAbsDiff = 0;
  let maxAbsRef = 0;
  let finite = ref.length === test.length;
  for (let i = 0; i < ref.length; i++) {
    if (!Number.isFinite(test[i])) finite = false;
    maxAbsDiff = Math.max(maxAbsDiff, Math.abs(test[i] - ref[i]));
    maxAbsRef = Math.max(maxAbsRef, Math.abs(ref[i]));
  }
  return {
    maxAbsDiff,
    maxAbsRef,
    withinTolerance: finite && maxAbsDiff <= ATOL + RTOL * maxAbsRef,
  };
}

const stageNames = (b: Awaited<ReturnType<typeof loadBundle>>) => {
  const s = b.sessions;
  return [
    ["text_encoder", s.textEncoder],
    ["image_encoder", s.imageEncoder],
    ["prior", s.prior],
    ["decoder", s.decoder],
    ...s.upsamplers.map((u, k) => [`upsampler_${k}`, u] as const),
  ] as const;
};

const options = (providers: ExecutionProvider[]) => ({ providers, intraOpThreads: 0 });
const ref = await loadBundle(bundleDir, options(refProviders));
let test: Awaited<ReturnType<typeof loadBundle>>;
try {
  test = await loadBundle(bundleDir, options(testProviders));
} catch (error) {
  // A graph that fell back to the CPU under a GPU requirement, or a provider that did not load.
  console.log(JSON.stringify({ providers: testProviders, error: (error as Error).message }));
  process.exit(1);
}
const graphPath = (stage: string) => {
  const { stages } = test.manifest;
  const file = stage.startsWith("upsampler_")
    ? stages.upsamplers[Number(stage.slice("upsampler_".length))].file
    : stages[stage as "text_encoder" | "image_encoder" | "prior" | "decoder"].file;
  return join(bundleDir, file);
};
const ids = PROMPTS.map((p) => BigInt64Array.from(ref.tokenizer.inputIds(p), BigInt));

const placement: Record<string, unknown> = {};
const stages: Record<string, Record<string, Compared>> = {};
let ok = true;
const refStages = stageNames(ref);
for (const [i, [name, testSession]] of stageNames(test).entries()) {
  // Under a GPU requirement the load already probed (and would have refused a fallback);
  // otherwise probe here, so the readout exists for every provider list.
  placement[name] =
    (testSession as OrtStageSession).placement ??
    (await probePlacement(
      graphPath(name),
      testSession.inputs,
      test.providers as ExecutionProvider[],
    ));
  for (const rows of [2, 16]) {
    const feeds = seededFeeds(testSession, rows, 7, ids);
    const [a, b] = await Promise.all([refStages[i][1].run(feeds), testSession.run(feeds)]);
    for (const out of testSession.outputs) {
      const c = compare(a[out.name], b[out.name]);
      stages[name] = { ...stages[name], [`${out.name}@${rows}`]: c };
      ok &&= c.withinTolerance;
    }
  }
}

// Whole requests through a runner on each provider (the runner's defaults): same prompts, seeds.
const defaults = parseConfig({});
const runners = [ref, test].map(
  (bundle) =>
    new Runner(bundle, {
      maxBatch: defaults.maxBatch,
      maxQueue: 1000,
      jobTimeoutMs: 3_600_000,
      ddimEta: defaults.ddimEta,
      metrics: new RunnerMetrics({ defaultMetrics: false }),
    }),
);
const { manifest, id } = ref;
const count = Number(values.images);
const native = runners[0].pipeline.nativeResolution;
const pixels: Float32Array[][] = [[], []];
for (const [k, runner] of runners.entries()) {
  for (let i = 0; i < count; i++) {
    const out = await runner.submit({
      operation: "generation",
      request: {
        bundle: id,
        prompt: PROMPTS[i % PROMPTS.length],
        n: 1,
        seed: 1000 + i,
        size: `${native}x${native}`,
        prior_steps: manifest.stages.prior.default_steps,
        prior_guidance_scale: manifest.stages.prior.default_guidance,
        decoder_steps: manifest.stages.decoder.default_steps,
        decoder_guidance_scale: manifest.stages.decoder.default_guidance,
        upsampler_steps: manifest.stages.upsamplers[0]?.default_steps,
      },
    });
    pixels[k].push(decodePngToTensor(Buffer.from(out.images[0].png_b64, "base64"), native));
  }
}
let sum = 0;
let max = 0;
let n = 0;
for (let i = 0; i < count; i++) {
  for (let j = 0; j < pixels[0][i].length; j++) {
    const d = Math.abs(pixels[0][i][j] - pixels[1][i][j]) * 127.5; // [-1,1] → 0..255 levels
    sum += d;
    max = Math.max(max, d);
    n++;
  }
}
const images = { count, native, meanAbsDiff255: sum / n, maxAbsDiff255: max };

if (values.sheet) {
  // Top row: reference provider; bottom row: provider under test.
  const width = native * count;
  const data = new Uint8Array(width * native * 2 * 3);
  for (let row = 0; row < 2; row++) {
    for (let i = 0; i < count; i++) {
      const t = pixels[row][i];
      for (let y = 0; y < native; y++) {
        for (let x = 0; x < native; x++) {
          for (let c = 0; c < 3; c++) {
            const v = t[c * native * native + y * native + x];
            const at = ((row * native + y) * width + i * native + x) * 3 + c;
            data[at] = Math.max(0, Math.min(255, Math.round((v + 1) * 127.5)));
          }
        }
      }
    }
  }
  await writeFile(values.sheet, encode({ width, height: native * 2, data, channels: 3 }));
}

console.log(
  JSON.stringify({
    bundle: id,
    reference: refProviders,
    providers: test.providers,
    tolerance: { atol: ATOL, rtol: RTOL, rule: "|test − ref| ≤ atol + rtol · max|ref|" },
    placement,
    stages,
    images,
    ok,
  }),
);
await Promise.all([ref.release(), test.release()]);
process.exit(ok ? 0 : 1);
