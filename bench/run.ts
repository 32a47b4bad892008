// `npm run bench`: images/s and per-stage milliseconds of the gpu-runner on this machine, in
// one run, for two settings side by side: the bundle's manifest defaults (sampler and steps per
// stage) and the pre-DPM-Solver defaults (DDIM 25 / 25 / 10, 110 network evaluations): (a) one
// 256x256 request at a time, (b) 4 and 8 concurrent requests with continuous batching, (c) the
// same networks and sampler in PyTorch eager (baseline); then the ratios.
// Options: --model <bundle dir> --requests <n> --skip-torch --torch-timeout <s>; since
// `npm run bench` also runs bench/service.ts (which takes the `--` arguments), the same can be
// set by env: UNCLIP_BUNDLE, UNCLIP_BENCH_REQUESTS, UNCLIP_BENCH_SKIP_TORCH=1,
// UNCLIP_BENCH_TORCH_BATCHES (default 1,4,8), UNCLIP_BENCH_TORCH_TIMEOUT (s). Also
// UNCLIP_PROVIDERS, UNCLIP_INTRA_OP_THREADS, UNCLIP_MAX_BATCH as for the server.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { cpus } from "node:os";
import { basename, join } from "node:path";
import { parseArgs } from "node:util";
import type { PoolGenerateRequest } from "@unclip/shared";
import { startInProcessRunner } from "../gpu-runner/src/inProcess.ts";

const PROMPTS = [
  "a small red circle in the top left on a white background",
  "two large blue squares on a black background",
  "a green triangle on a white background",
  "a smiling face with heart eyes",
  "a red apple",
  "three small purple triangles on a white background",
  "a yellow star",
  "a blue square in the bottom right",
];

/** Where the bundle's weights were trained (for the PyTorch baseline). */
function runDirFor(bundleName: string): string | null {
  const candidates = [
    join("training/runs", bundleName),
    join("training/checkpoints", bundleName),
    ...(bundleName === "tiny-test" ? ["training/runs/shapes-tiny"] : []),
  ];
  return candidates.find((d) => existsSync(join(d, "decoder.pt"))) ?? null;
}

interface Scenario {
  name: string;
  images: number;
  seconds: number;
  imagesPerS: number;
  stageMsPerImage: Record<string, number>;
  rowsPerCall: Record<string, number>;
  p50LatencyMs: number;
}

const { values } = parseArgs({
  options: {
    model: { type: "string" },
    requests: { type: "string", default: process.env.UNCLIP_BENCH_REQUESTS ?? "16" },
    "skip-torch": { type: "boolean", default: process.env.UNCLIP_BENCH_SKIP_TORCH === "1" },
    /** The PyTorch baseline is slow on CPU; stop it after this long (partial results kept). */
    "torch-timeout": { type: "string", default: process.env.UNCLIP_BENCH_TORCH_TIMEOUT ?? "900" },
    /** Static batch sizes of the PyTorch baseline (fewer on a loaded machine). */
    "torch-batches": { type: "string", default: process.env.UNCLIP_BENCH_TORCH_BATCHES ?? "1,4,8" },
  },
});
const requests = Number(values.requests);
const torchTimeoutS = Number(values["torch-timeout"]);
const { config, bundle, runner } = await startInProcessRunner({
  bundleDir: values.model,
  maxQueue: 10_000,
  ddimEta: 0,
});
await runner.warm();
const { stages } = bundle.manifest;
const native = runner.pipeline.nativeResolution;
const guidance = {
  prior_guidance_scale: stages.prior.default_guidance,
  decoder_guidance_scale: stages.decoder.default_guidance,
};
type Setting = Pick<
  PoolGenerateRequest,
  | "prior_steps"
  | "prior_guidance_scale"
  | "prior_sampler"
  | "decoder_steps"
  | "decoder_guidance_scale"
  | "decoder_sampler"
  | "upsampler_steps"
  | "upsampler_sampler"
>;
/** What the defaults were before the bundle named its samplers: DDIM with 25 / 25 / 10 steps. */
const legacy: Setting = {
  ...guidance,
  prior_steps: 25,
  decoder_steps: 25,
  upsampler_steps: 10,
  prior_sampler: "ddim",
  decoder_sampler: "ddim",
  upsampler_sampler: "ddim",
};
const defaults: Setting = {
  ...guidance,
  prior_steps: stages.prior.default_steps,
  decoder_steps: stages.decoder.default_steps,
  upsampler_steps: stages.upsamplers[0]?.default_steps ?? 1,
  prior_sampler: stages.prior.sampler,
  decoder_sampler: stages.decoder.sampler,
  upsampler_sampler: stages.upsamplers[0]?.sampler ?? "ddim",
};
/** Network evaluations per image: guided steps run two rows. */
const evaluations = (s: Setting) =>
  2 * s.prior_steps + 2 * s.decoder_steps + (s.upsampler_steps ?? 0);
const describeSetting = (s: Setting) =>
  `prior ${s.prior_sampler} ${s.prior_steps}, decoder ${s.decoder_sampler} ${s.decoder_steps}, upsampler ${s.upsampler_sampler} ${s.upsampler_steps} = ${evaluations(s)} network evaluations`;
const SIZE = "256x256";

interface Run {
  images: number;
  seconds: number;
  latencies: number[];
  stages: Map<string, { calls: number; rows: number; seconds: number }>;
}

/** `count` requests (seeds from `first`) with `concurrency` clients, and the batcher's deltas. */
async function run(
  concurrency: number,
  params: Setting,
  first: number,
  count: number,
): Promise<Run> {
  const before = new Map([...runner.batcher.stageTotals].map(([k, v]) => [k, { ...v }] as const));
  const latencies: number[] = [];
  let next = first;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < first + count) {
        const i = next++;
        const t0 = performance.now();
        await runner.submit({
          operation: "generation",
          request: {
            bundle: bundle.id,
            prompt: PROMPTS[i % PROMPTS.length],
            n: 1,
            seed: i,
            size: SIZE,
            ...params,
          },
        });
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const stages = new Map<string, { calls: number; rows: number; seconds: number }>();
  for (const [stage, total] of runner.batcher.stageTotals) {
    const prev = before.get(stage) ?? { calls: 0, rows: 0, seconds: 0 };
    stages.set(stage, {
      calls: total.calls - prev.calls,
      rows: total.rows - prev.rows,
      seconds: total.seconds - prev.seconds,
    });
  }
  return { images: count, seconds: (performance.now() - started) / 1000, latencies, stages };
}

function summary(name: string, runs: Run[]): Scenario {
  const images = runs.reduce((s, r) => s + r.images, 0);
  const seconds = runs.reduce((s, r) => s + r.seconds, 0);
  const latencies = runs.flatMap((r) => r.latencies).sort((a, b) => a - b);
  const stageMsPerImage: Record<string, number> = {};
  const rowsPerCall: Record<string, number> = {};
  for (const stage of runs[0].stages.keys()) {
    const sum = (k: "calls" | "rows" | "seconds") =>
      runs.reduce((s, r) => s + (r.stages.get(stage)?.[k] ?? 0), 0);
    stageMsPerImage[stage] = (sum("seconds") * 1000) / images;
    rowsPerCall[stage] = sum("rows") / Math.max(1, sum("calls"));
  }
  return {
    name,
    images,
    seconds,
    imagesPerS: images / seconds,
    stageMsPerImage,
    rowsPerCall,
    p50LatencyMs: latencies[Math.floor(latencies.length / 2)],
  };
}

/**
 * Both settings at one concurrency. One at a time they alternate request by request (same
 * seeds), so a burst of load from elsewhere on the machine hits both alike; concurrent clients
 * need a full queue of one setting, so those run one block after the other.
 */
async function scenarioPair(name: string, concurrency: number): Promise<[Scenario, Scenario]> {
  const blocks = concurrency === 1 ? requests : 1;
  const per = requests / blocks;
  const now: Run[] = [];
  const old: Run[] = [];
  for (let b = 0; b < blocks; b++) {
    now.push(await run(concurrency, defaults, b * per, per));
    old.push(await run(concurrency, legacy, b * per, per));
  }
  return [summary(name, now), summary(`${name} [old]`, old)];
}

const machine = `${cpus()[0]?.model ?? "unknown CPU"} × ${cpus().length} cores visible`;
console.log(`bench: bundle ${bundle.id} (${basename(config.bundleDir)}), native ${native}px`);
console.log(
  `bench: machine ${machine}; onnxruntime providers [${bundle.providers}], intra-op threads ${config.intraOpThreads || "auto"}, max batch ${config.maxBatch} rows`,
);
console.log(`bench: manifest defaults: ${describeSetting(defaults)}`);
console.log(`bench: old defaults:      ${describeSetting(legacy)}`);
console.log(
  `bench: guidance prior ${guidance.prior_guidance_scale}, decoder ${guidance.decoder_guidance_scale}; ${SIZE}, ${requests} images per scenario, n=1 each`,
);

const results: Scenario[] = [];
const legacyResults: Scenario[] = [];
for (const [label, concurrency] of [
  ["(a) sequential, 1 at a time", 1],
  ["(b) 4 concurrent, continuous batching", 4],
  ["(b) 8 concurrent, continuous batching", 8],
] as const) {
  const [now, old] = await scenarioPair(label, concurrency);
  results.push(now);
  legacyResults.push(old);
}
await runner.release();

const stageNames = Object.keys(results[0].stageMsPerImage);
const fmt = (v: number, d = 1) => v.toFixed(d).padStart(8);
console.log(
  `\n${"scenario".padEnd(42)}${"img/s".padStart(8)}${"p50 ms".padStart(9)}  ${stageNames.map((s) => `${s} ms/img (rows/call)`).join("  ")}`,
);
for (const r of results.flatMap((r, i) => [r, legacyResults[i]])) {
  console.log(
    `${r.name.padEnd(42)}${fmt(r.imagesPerS, 2)}${fmt(r.p50LatencyMs, 0).padStart(9)}  ${stageNames
      .map((s) =>
        `${fmt(r.stageMsPerImage[s], 2)} (${r.rowsPerCall[s].toFixed(1)})`.padEnd(s.length + 19),
      )
      .join("  ")}`,
  );
}

// (c) PyTorch eager baseline.
let torch: {
  scenarios?: { batch: number; images_per_s: number; stage_ms_per_image: Record<string, number> }[];
  skipped?: string;
  threads?: number;
  weights?: string;
} = {};
const runDir = runDirFor(bundle.manifest.name);
/** Without checkpoints: untrained networks of the bundle's architecture (timing only). */
const torchConfig = {
  "emoji-gpu": "emoji:gpu",
  "shapes-gpu": "shapes:gpu",
  "tiny-test": "shapes:tiny",
}[bundle.manifest.name];
const script = existsSync("training/bench_torch.py")
  ? "training/bench_torch.py"
  : "bench/torch_baseline.py";
if (values["skip-torch"]) torch = { skipped: "--skip-torch" };
else if (!runDir && !torchConfig)
  torch = {
    skipped: `no training checkpoints for ${bundle.manifest.name} under training/runs or training/checkpoints`,
  };
else {
  const threads = config.intraOpThreads || cpus().length;
  const proc = spawnSync(
    "/usr/bin/python3",
    [
      script,
      ...(runDir
        ? ["--run-dir", runDir]
        : [
            "--config",
            torchConfig!,
            "--tokenizer",
            join(config.bundleDir, bundle.manifest.tokenizer.file),
          ]),
      "--sampler",
      String(defaults.decoder_sampler),
      "--requests",
      String(Math.min(requests, 4)),
      "--batches",
      values["torch-batches"],
      "--prior-steps",
      String(defaults.prior_steps),
      "--prior-guidance",
      String(defaults.prior_guidance_scale),
      "--steps",
      String(defaults.decoder_steps),
      "--guidance",
      String(defaults.decoder_guidance_scale),
      "--upsampler-steps",
      String(defaults.upsampler_steps),
      "--threads",
      String(threads),
      "--prompts",
      JSON.stringify(PROMPTS),
    ],
    { encoding: "utf8", maxBuffer: 16 << 20, timeout: torchTimeoutS * 1000 },
  );
  const lines = proc.stdout
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l));
  const head = lines.find((l) => l.skipped || l.threads) ?? {};
  const scenarios = lines.filter((l) => l.scenario).map((l) => l.scenario);
  torch = head.skipped
    ? { skipped: head.skipped }
    : scenarios.length > 0
      ? { threads: head.threads, weights: head.weights, scenarios }
      : {
          skipped: `${script} failed (exit ${proc.status ?? proc.signal}): ${proc.stderr.trim().split("\n").at(-1)}`,
        };
  if (proc.status !== 0 && scenarios.length > 0) {
    console.log(
      `(c) note: ${script} stopped early (${proc.signal ?? proc.status}); partial results`,
    );
  }
}
console.log();
if (torch.skipped || !torch.scenarios) {
  console.log(`(c) PyTorch eager baseline skipped: ${torch.skipped ?? "no result"}`);
} else {
  console.log(
    `(c) PyTorch eager baseline (${script}, weights ${runDir ?? torch.weights}, ${torch.threads} threads, manifest defaults):`,
  );
  for (const s of torch.scenarios) {
    const stages = Object.entries(s.stage_ms_per_image)
      .map(([k, v]) => `${k} ${v.toFixed(2)}`)
      .join(", ");
    console.log(
      `    static batch of ${s.batch}: ${s.images_per_s.toFixed(2)} img/s  (ms/img: ${stages})`,
    );
  }
}

console.log("\nratios (images/s):");
const [seq, c4, c8] = results;
for (const [i, label] of ["sequential", "4 concurrent", "8 concurrent"].entries()) {
  const [now, old] = [results[i], legacyResults[i]];
  console.log(
    `  manifest defaults / old defaults, ${label}: ${(now.imagesPerS / old.imagesPerS).toFixed(2)}× images/s, p50 ${now.p50LatencyMs.toFixed(0)} vs ${old.p50LatencyMs.toFixed(0)} ms (${(now.p50LatencyMs / old.p50LatencyMs).toFixed(2)} of the time)`,
  );
}
console.log(`  4 concurrent / sequential: ${(c4.imagesPerS / seq.imagesPerS).toFixed(2)}×`);
console.log(`  8 concurrent / sequential: ${(c8.imagesPerS / seq.imagesPerS).toFixed(2)}×`);
const byBatch = new Map((torch.scenarios ?? []).map((s) => [s.batch, s.images_per_s]));
for (const [label, ours, b] of [
  ["sequential vs PyTorch batch 1", seq, 1],
  ["4 concurrent vs PyTorch batch 4", c4, 4],
  ["8 concurrent vs PyTorch batch 8", c8, 8],
] as const) {
  const base = byBatch.get(b);
  if (base) console.log(`  runner ${label}: ${(ours.imagesPerS / base).toFixed(2)}×`);
}
