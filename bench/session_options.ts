// The CPU-path experiment behind the runner's session settings: milliseconds per network call
// of each diffusion stage at the batch the runner uses one request at a time (2 guided rows for
// prior and decoder, 1 for the upsampler), for onnxruntime session variants, measured
// interleaved in one run (round-robin, median of `--reps` calls per variant), plus int8 dynamic
// quantization when bench/quantize_int8.py has written the quantized graphs to `--int8`.
//   nice -n 10 npx tsx bench/session_options.ts --model models/emoji-gpu --int8 /tmp/int8
import { existsSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import * as ort from "onnxruntime-node";
import { readManifest } from "../gpu-runner/src/bundle/load.ts";

const { values } = parseArgs({
  options: {
    model: { type: "string", default: "models/emoji-gpu" },
    int8: { type: "string", default: "/tmp/int8" },
    reps: { type: "string", default: "30" },
  },
});
const manifest = await readManifest(values.model);
const reps = Number(values.reps);

type Options = ort.InferenceSession.SessionOptions;
const base: Options = { executionProviders: ["cpu"], graphOptimizationLevel: "all" };
const variants: Record<string, Options> = {
  "current (all optimizations, threads auto)": base,
  "intra-op threads 1": { ...base, intraOpNumThreads: 1 },
  "intra-op threads 2": { ...base, intraOpNumThreads: 2 },
  "threads 2, no spinning": {
    ...base,
    intraOpNumThreads: 2,
    extra: { session: { intra_op: { allow_spinning: "0" } } },
  },
  "parallel execution mode": { ...base, executionMode: "parallel" },
  "basic optimizations only": { ...base, graphOptimizationLevel: "basic" },
};

interface StageCase {
  stage: string;
  file: string;
  rows: number;
  inputs: { name: string; dtype: string; shape: (number | "batch")[] }[];
}
const { prior, decoder, upsamplers } = manifest.stages;
const cases: StageCase[] = [
  { stage: "prior", file: prior.file, rows: 2, inputs: prior.inputs },
  { stage: "decoder", file: decoder.file, rows: 2, inputs: decoder.inputs },
  ...upsamplers.map((u) => ({ stage: "upsampler", file: u.file, rows: 1, inputs: u.inputs })),
];

function feeds(c: StageCase): Record<string, ort.Tensor> {
  const out: Record<string, ort.Tensor> = {};
  for (const input of c.inputs) {
    const dims = input.shape.map((d) => (d === "batch" ? c.rows : d));
    const size = dims.reduce((a, b) => a * b, 1);
    out[input.name] =
      input.dtype === "int64"
        ? new ort.Tensor("int64", new BigInt64Array(size), dims)
        : new ort.Tensor(
            "float32",
            Float32Array.from({ length: size }, (_, i) => Math.sin(i * 0.37) * 0.5 + 0.3),
            dims,
          );
  }
  return out;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

for (const c of cases) {
  const sessions: [string, ort.InferenceSession][] = [];
  for (const [name, options] of Object.entries(variants)) {
    sessions.push([name, await ort.InferenceSession.create(join(values.model, c.file), options)]);
  }
  const int8 = join(values.int8, c.file.replace(/\.onnx$/, ".int8.onnx"));
  if (existsSync(int8)) {
    sessions.push(["int8 dynamic quantization", await ort.InferenceSession.create(int8, base)]);
  }
  const input = feeds(c);
  const times = new Map(sessions.map(([name]) => [name, [] as number[]]));
  const reference = (await sessions[0][1].run(input)).pred.data as Float32Array;
  const drift = new Map<string, number>();
  for (const [name, s] of sessions) {
    const out = (await s.run(input)).pred.data as Float32Array;
    drift.set(name, Math.max(...out.map((v, i) => Math.abs(v - reference[i]))));
  }
  for (let r = 0; r < reps; r++) {
    for (const [name, s] of sessions) {
      const t0 = performance.now();
      await s.run(input);
      times.get(name)!.push(performance.now() - t0);
    }
  }
  const baseMs = median(times.get(sessions[0][0])!);
  console.log(`\n${c.stage} (${c.file}), ${c.rows} row(s) per call, median of ${reps}:`);
  for (const [name] of sessions) {
    const ms = median(times.get(name)!);
    console.log(
      `  ${name.padEnd(44)}${ms.toFixed(2).padStart(8)} ms  ${(baseMs / ms).toFixed(2)}×  max |Δpred| ${drift.get(name)!.toExponential(1)}`,
    );
  }
  await Promise.all(sessions.map(([, s]) => s.release()));
}
