// `npm run bench`: images/s and per-stage milliseconds of the gpu-runner on this machine, for
// two settings side by side (the bundle's manifest defaults, and the pre-DPM-Solver defaults:
// DDIM 25 / 25 / 10, 110 network evaluations): (a) one 256x256 request at a time, (b) 4 and 8
// concurrent requests with continuous batching; (c) the bundle's own networks and samplers in
// PyTorch eager (bench/torch_baseline.py: refused, with no ratio printed, unless every stage's
// parameter count matches the bundle's); the BLAS torch loaded, the machine's fp32 matmul and
// conv peak in torch and onnxruntime, and a roofline per stage. Every scenario runs --repeats
// times (median and range); the load average is recorded before and after. Writes
// bench/results/latest.json (the record) and latest.md (the tables).
// Options: --model <bundle dir> --requests <n> --repeats <n> --skip-torch --torch-timeout <s>
// --torch-batches 1,4,8; since `npm run bench` also runs bench/service.ts (which takes the `--`
// arguments), the same can be set by env: UNCLIP_BUNDLE, UNCLIP_BENCH_REQUESTS,
// UNCLIP_BENCH_REPEATS, UNCLIP_BENCH_SKIP_TORCH=1, UNCLIP_BENCH_TORCH_BATCHES,
// UNCLIP_BENCH_TORCH_TIMEOUT (s). Also UNCLIP_PROVIDERS, UNCLIP_INTRA_OP_THREADS,
// UNCLIP_MAX_BATCH as for the server.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir, totalmem } from "node:os";
import { basename, join } from "node:path";
import { parseArgs } from "node:util";
import type { PoolGenerateRequest } from "@unclip/shared";
import { startInProcessRunner } from "../gpu-runner/src/inProcess.ts";
import { onnxruntimePeak } from "./peak.ts";
import {
  formatSpread,
  type RooflineRow,
  ratioRefusal,
  rooflineRow,
  type Spread,
  spreadOf,
} from "./roofline.ts";
import { runTorchSide, TORCH_SCRIPT } from "./torchSide.ts";

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
/** The roofline's stages, named as the runner's scheduler and the PyTorch side name them. */
const STAGES = ["text_encoder", "prior", "decoder", "upsampler"] as const;
const RESULTS = "bench/results";

const { values } = parseArgs({
  options: {
    model: { type: "string" },
    /** Images per repeat of each scenario and setting (8 concurrent takes at least 16). */
    requests: { type: "string", default: process.env.UNCLIP_BENCH_REQUESTS ?? "8" },
    repeats: { type: "string", default: process.env.UNCLIP_BENCH_REPEATS ?? "3" },
    /** Runner concurrency levels (fewer for a quick run on a loaded machine). */
    concurrency: { type: "string", default: process.env.UNCLIP_BENCH_CONCURRENCY ?? "1,4,8" },
    "skip-torch": { type: "boolean", default: process.env.UNCLIP_BENCH_SKIP_TORCH === "1" },
    /** Stop the PyTorch side after this long (the scenarios it finished are kept). */
    "torch-timeout": { type: "string", default: process.env.UNCLIP_BENCH_TORCH_TIMEOUT ?? "300" },
    /** Static batch sizes of the PyTorch baseline. */
    "torch-batches": { type: "string", default: process.env.UNCLIP_BENCH_TORCH_BATCHES ?? "1,4,8" },
  },
});
const requests = Number(values.requests);
const repeats = Math.max(1, Number(values.repeats));
const load = () => loadavg().map((l) => Number(l.toFixed(2)));
const loadBefore = load();
const startedAt = new Date();
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
  2 * (s.prior_steps ?? 0) + 2 * (s.decoder_steps ?? 0) + (s.upsampler_steps ?? 0);
const describeSetting = (s: Setting) =>
  `prior ${s.prior_sampler} ${s.prior_steps}, decoder ${s.decoder_sampler} ${s.decoder_steps}, upsampler ${s.upsampler_sampler} ${s.upsampler_steps} = ${evaluations(s)} network evaluations`;
const SIZE = "256x256";

type StageTotals = Map<string, { calls: number; rows: number; seconds: number }>;
interface Run {
  images: number;
  seconds: number;
  latencies: number[];
  stages: StageTotals;
}

/** The batcher's stage names → the roofline's ("upsampler_64" → "upsampler"). */
const stageOf = (name: string) => (name.startsWith("upsampler") ? "upsampler" : name);

/** `count` requests (seeds from `first`) with `concurrency` clients, and the batcher's deltas. */
async function run(
  concurrency: number,
  params: Setting,
  first: number,
  count: number,
): Promise<Run> {
  const totals = runner.batcher.stageTotals;
  const before = new Map([...totals].map(([k, v]) => [k, { ...v }] as const));
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
  const stages: StageTotals = new Map();
  for (const [name, total] of totals) {
    const prev = before.get(name) ?? { calls: 0, rows: 0, seconds: 0 };
    const acc = stages.get(stageOf(name)) ?? { calls: 0, rows: 0, seconds: 0 };
    stages.set(stageOf(name), {
      calls: acc.calls + total.calls - prev.calls,
      rows: acc.rows + total.rows - prev.rows,
      seconds: acc.seconds + total.seconds - prev.seconds,
    });
  }
  return { images: count, seconds: (performance.now() - started) / 1000, latencies, stages };
}

/** Several runs (one repeat) as one. */
function merged(runs: Run[]): Run {
  const stages: StageTotals = new Map();
  for (const r of runs)
    for (const [k, v] of r.stages) {
      const acc = stages.get(k) ?? { calls: 0, rows: 0, seconds: 0 };
      stages.set(k, {
        calls: acc.calls + v.calls,
        rows: acc.rows + v.rows,
        seconds: acc.seconds + v.seconds,
      });
    }
  return {
    images: runs.reduce((s, r) => s + r.images, 0),
    seconds: runs.reduce((s, r) => s + r.seconds, 0),
    latencies: runs.flatMap((r) => r.latencies),
    stages,
  };
}

interface Scenario {
  name: string;
  concurrency: number;
  setting: "manifest defaults" | "old defaults";
  imagesPerS: Spread;
  p50LatencyMs: number;
  /** Summed over the repeats. */
  stageMsPerImage: Record<string, number>;
  callsPerImage: Record<string, number>;
  rowsPerCall: Record<string, number>;
  load: number[];
}

function summary(
  name: string,
  concurrency: number,
  setting: Scenario["setting"],
  reps: Run[],
): Scenario {
  const all = merged(reps);
  const latencies = [...all.latencies].sort((a, b) => a - b);
  const stageMsPerImage: Record<string, number> = {};
  const callsPerImage: Record<string, number> = {};
  const rowsPerCall: Record<string, number> = {};
  for (const [stage, t] of all.stages) {
    stageMsPerImage[stage] = (t.seconds * 1000) / all.images;
    callsPerImage[stage] = t.rows / all.images;
    rowsPerCall[stage] = t.rows / Math.max(1, t.calls);
  }
  return {
    name,
    concurrency,
    setting,
    imagesPerS: spreadOf(reps.map((r) => r.images / r.seconds)),
    p50LatencyMs: latencies[Math.floor(latencies.length / 2)],
    stageMsPerImage,
    callsPerImage,
    rowsPerCall,
    load: load(),
  };
}

/**
 * Both settings at one concurrency, `repeats` times. One at a time they alternate request by
 * request (same seeds), so a burst of load from elsewhere on the machine hits both alike;
 * concurrent clients need a full queue of one setting, so those alternate block by block.
 */
async function scenarioPair(name: string, concurrency: number): Promise<[Scenario, Scenario]> {
  const images = Math.max(requests, 2 * concurrency);
  const blocks = concurrency === 1 ? images : 1;
  const per = images / blocks;
  const now: Run[] = [];
  const old: Run[] = [];
  for (let r = 0; r < repeats; r++) {
    const nowBlocks: Run[] = [];
    const oldBlocks: Run[] = [];
    for (let b = 0; b < blocks; b++) {
      const first = r * images + b * per;
      nowBlocks.push(await run(concurrency, defaults, first, per));
      oldBlocks.push(await run(concurrency, legacy, first, per));
    }
    now.push(merged(nowBlocks));
    old.push(merged(oldBlocks));
  }
  return [
    summary(name, concurrency, "manifest defaults", now),
    summary(`${name} [old]`, concurrency, "old defaults", old),
  ];
}

const machine = `${cpus()[0]?.model ?? "unknown CPU"} × ${cpus().length} cores visible, ${(totalmem() / 2 ** 30).toFixed(0)} GiB`;
const lines: string[] = [];
const say = (line = "") => {
  console.log(line);
  lines.push(line);
};
say(
  `bench: ${startedAt.toISOString()}, bundle ${bundle.id} (${basename(config.bundleDir)}), native ${native}px`,
);
say(
  `bench: machine ${machine}; load average before ${loadBefore.join(" ")}; onnxruntime providers [${bundle.providers}], intra-op threads ${config.intraOpThreads || "auto"}, max batch ${config.maxBatch} rows`,
);
say(`bench: manifest defaults: ${describeSetting(defaults)}`);
say(`bench: old defaults:      ${describeSetting(legacy)}`);
say(
  `bench: guidance prior ${guidance.prior_guidance_scale}, decoder ${guidance.decoder_guidance_scale}; ${SIZE}, n=1; ${repeats} repeats of ${requests} images per scenario and setting (8 concurrent: ${Math.max(requests, 16)})`,
);

const results: Scenario[] = [];
for (const concurrency of (values.concurrency ?? "1,4,8").split(",").map(Number)) {
  const label =
    concurrency === 1
      ? "(a) sequential, 1 at a time"
      : `(b) ${concurrency} concurrent, continuous batching`;
  const pair = await scenarioPair(label, concurrency);
  results.push(...pair);
  console.log(
    `  ${label}: ${pair.map((r) => formatSpread(r.imagesPerS)).join(" vs [old] ")} img/s; load ${load().join(" ")}`,
  );
}
const runnerThreads = config.intraOpThreads || cpus().length;
await runner.release();

const fmt = (v: number, d = 1) => v.toFixed(d).padStart(8);
const stageNames = STAGES.filter((s) => s in results[0].stageMsPerImage);
say(
  `\n${"scenario".padEnd(42)}${"img/s median (range)".padStart(22)}${"p50 ms".padStart(9)}  ${stageNames.map((s) => `${s} ms/img (rows/call)`).join("  ")}`,
);
for (const r of results) {
  say(
    `${r.name.padEnd(42)}${formatSpread(r.imagesPerS).padStart(22)}${fmt(r.p50LatencyMs, 0).padStart(9)}  ${stageNames
      .map((s) =>
        `${fmt(r.stageMsPerImage[s], 2)} (${r.rowsPerCall[s].toFixed(1)})`.padEnd(s.length + 19),
      )
      .join("  ")}`,
  );
}

// (c) PyTorch eager on the bundle's own networks; also BLAS, peak and GMAC per stage.
const probeDir = mkdtempSync(join(tmpdir(), "unclip-bench-probe-"));
const torch = runTorchSide({
  bundleDir: config.bundleDir,
  threads: runnerThreads,
  probeDir,
  probeOnly: values["skip-torch"] ?? false,
  batches: values["torch-batches"] ?? "1,4,8",
  repeats,
  timeoutS: Number(values["torch-timeout"]),
  prompts: PROMPTS,
  setting: {
    prior_steps: defaults.prior_steps ?? 0,
    prior_guidance_scale: defaults.prior_guidance_scale ?? 1,
    decoder_steps: defaults.decoder_steps ?? 0,
    decoder_guidance_scale: defaults.decoder_guidance_scale ?? 1,
    upsampler_steps: defaults.upsampler_steps ?? 0,
  },
});
const ortPeak = torch.probe_graphs
  ? await onnxruntimePeak(probeDir, torch.probe_graphs, config.intraOpThreads)
  : undefined;
rmSync(probeDir, { recursive: true, force: true });
const loadAfter = load();

say();
if (torch.blas) {
  say(
    `torch ${torch.torch}: BLAS ${torch.blas.name} (${torch.blas.path ?? "no separate library"}), ${torch.threads} intra-op threads, the BLAS's own threads ${torch.blas.blas_threads ?? "n/a"}`,
  );
  if (torch.blas.reference) {
    say("!".repeat(78));
    say(
      "WARNING: torch runs on the REFERENCE BLAS (~40x slower matmuls): the PyTorch figures below are not a fair baseline. Install libopenblas0-pthread.",
    );
    say("!".repeat(78));
  }
}
const peak = {
  torch: torch.peak_gflops,
  onnxruntime: ortPeak,
};
/** The machine's measured fp32 peak: the best of the four probes. */
const machinePeak = Math.max(
  ...[peak.torch?.matmul, peak.torch?.conv, ortPeak?.matmul, ortPeak?.conv].filter(
    (v): v is number => v !== undefined,
  ),
);
if (peak.torch || ortPeak) {
  const f = (p?: { matmul: number; conv: number } | Record<string, number>) =>
    p ? `matmul ${p.matmul.toFixed(0)}, conv ${p.conv.toFixed(0)}` : "not measured";
  say(
    `peak fp32 GFLOP/s (1024² matmul; 3x3 conv 96→96 ch at 32², 2 rows; fastest call): torch ${f(peak.torch)}; onnxruntime ${f(ortPeak)}; machine peak ${machinePeak.toFixed(0)}`,
  );
}
if (torch.network) {
  const n = torch.network;
  say(
    `PyTorch networks: ${n.config}, weights: ${n.weights}; parameters per stage (bundle ONNX / PyTorch): ${Object.entries(
      n.parameters,
    )
      .map(([s, c]) => `${s} ${c.onnx.toLocaleString("en")} / ${c.torch.toLocaleString("en")}`)
      .join(
        ", ",
      )}; runner's stages together ${n.generation_parameters.onnx.toLocaleString("en")} / ${n.generation_parameters.torch.toLocaleString("en")}`,
  );
}
const refusal = torch.refused ?? ratioRefusal(torch.network?.parameters);
if (torch.refused) say(`(c) PyTorch baseline REFUSED: ${torch.refused}`);
else if (torch.problem) say(`(c) PyTorch baseline: ${torch.problem}`);
const torchScenarios = torch.scenarios.map((s) => {
  const ips = spreadOf(s.repeats.map((r) => r.images_per_s));
  const images = s.repeats.reduce((a, r) => a + r.images, 0);
  const perImage = (k: "stage_ms_per_image" | "rows_per_image") =>
    Object.fromEntries(
      Object.keys(s.repeats[0][k]).map((stage) => [
        stage,
        s.repeats.reduce((a, r) => a + r[k][stage] * r.images, 0) / images,
      ]),
    );
  return {
    name: `(c) PyTorch eager, static batch of ${s.batch}`,
    batch: s.batch,
    imagesPerS: ips,
    stageMsPerImage: perImage("stage_ms_per_image"),
    callsPerImage: perImage("rows_per_image"),
  };
});
for (const s of torchScenarios) {
  say(
    `${s.name.padEnd(42)}${formatSpread(s.imagesPerS).padStart(22)}${"".padStart(9)}  ${stageNames
      .map((st) => `${fmt(s.stageMsPerImage[st] ?? 0, 2)}`.padEnd(st.length + 19))
      .join("  ")}`,
  );
}

// Roofline: per stage, for every scenario at the manifest defaults and every PyTorch batch.
const gmac = torch.gmac_per_row;
const roofline: Record<string, Record<string, RooflineRow>> = {};
if (gmac && Number.isFinite(machinePeak)) {
  const rows = [
    ...results
      .filter((r) => r.setting === "manifest defaults")
      .map((r) => ({ ...r, name: `runner, ${r.concurrency} at a time` })),
    ...torchScenarios.map((s) => ({ ...s, name: `PyTorch, batch ${s.batch}` })),
  ];
  say(
    `\nroofline at the manifest defaults (GMAC per call: one network evaluation of one row; ${(machinePeak).toFixed(0)} GFLOP/s = 100 %)`,
  );
  const W = 30;
  say(
    `${"stage".padEnd(14)}${"GMAC/call".padStart(10)}  ${rows.map((r) => r.name.padStart(W)).join("")}`,
  );
  say(`${"".padEnd(24)}  ${rows.map(() => "calls/img ms/img GFLOP/s  %".padStart(W)).join("")}`);
  for (const stage of STAGES) {
    roofline[stage] = {};
    const cells = rows.map((r) => {
      const row = rooflineRow(
        gmac[stage],
        r.callsPerImage[stage] ?? 0,
        r.stageMsPerImage[stage] ?? 0,
        machinePeak,
      );
      roofline[stage][r.name] = row;
      return `${row.calls_per_image.toFixed(0).padStart(9)}${row.ms_per_image.toFixed(1).padStart(9)}${row.achieved_gflops.toFixed(1).padStart(8)}${(100 * row.fraction_of_peak).toFixed(1).padStart(5)}`.padStart(
        W,
      );
    });
    say(`${stage.padEnd(14)}${gmac[stage].toPrecision(3).padStart(10)}  ${cells.join("")}`);
  }
}

say("\nratios (images/s, medians):");
const byName = new Map(results.map((r) => [r.name, r]));
for (const c of [1, 4, 8]) {
  const now = results.find((r) => r.concurrency === c && r.setting === "manifest defaults");
  const old = results.find((r) => r.concurrency === c && r.setting === "old defaults");
  if (!now || !old) continue;
  say(
    `  manifest defaults / old defaults, ${c} at a time: ${(now.imagesPerS.median / old.imagesPerS.median).toFixed(2)}× images/s, p50 ${now.p50LatencyMs.toFixed(0)} vs ${old.p50LatencyMs.toFixed(0)} ms (${(now.p50LatencyMs / old.p50LatencyMs).toFixed(2)} of the time)`,
  );
}
const seq = results[0];
const ratios: Record<string, number | string> = {};
for (const c of [4, 8]) {
  const r = results.find((x) => x.concurrency === c && x.setting === "manifest defaults");
  if (!r) continue;
  ratios[`${c}_concurrent_over_sequential`] = r.imagesPerS.median / seq.imagesPerS.median;
  say(
    `  ${c} concurrent / sequential: ${(r.imagesPerS.median / seq.imagesPerS.median).toFixed(2)}×`,
  );
}
for (const [c, b] of [
  [1, 1],
  [4, 4],
  [8, 8],
] as const) {
  const ours = results.find((x) => x.concurrency === c && x.setting === "manifest defaults");
  const base = torchScenarios.find((s) => s.batch === b);
  if (!ours || !base) continue;
  const key = `runner_${c}_at_a_time_over_torch_batch_${b}`;
  if (refusal) {
    ratios[key] = `refused: ${refusal}`;
    say(`  runner ${c} at a time vs PyTorch batch ${b}: REFUSED (${refusal})`);
  } else {
    ratios[key] = ours.imagesPerS.median / base.imagesPerS.median;
    say(
      `  runner ${c} at a time vs PyTorch batch ${b}: ${(ours.imagesPerS.median / base.imagesPerS.median).toFixed(2)}×`,
    );
  }
}
say(`\nload average before ${loadBefore.join(" ")}, after ${loadAfter.join(" ")}`);

const record = {
  date: startedAt.toISOString(),
  command: "npm run bench (runner part: bench/run.ts)",
  machine: { cpu: cpus()[0]?.model, cores: cpus().length, memory_gib: totalmem() / 2 ** 30 },
  load_average: { before: loadBefore, after: loadAfter },
  runner: {
    providers: bundle.providers,
    intra_op_threads: config.intraOpThreads || "auto",
    max_batch: config.maxBatch,
  },
  settings: { manifest_defaults: defaults, old_defaults: legacy, size: SIZE, repeats, requests },
  torch: {
    script: TORCH_SCRIPT,
    version: torch.torch,
    blas: torch.blas,
    threads: torch.threads,
    config: torch.network?.config,
    weights: torch.network?.weights,
    parameters: torch.network?.generation_parameters.torch,
    parameters_per_stage: torch.network
      ? Object.fromEntries(Object.entries(torch.network.parameters).map(([s, c]) => [s, c.torch]))
      : undefined,
    refused: torch.refused,
    problem: torch.problem,
  },
  bundle: {
    name: bundle.manifest.name,
    id: bundle.id,
    parameters: torch.network?.generation_parameters.onnx,
    parameters_per_stage: torch.network
      ? Object.fromEntries(Object.entries(torch.network.parameters).map(([s, c]) => [s, c.onnx]))
      : undefined,
  },
  peak_gflops: {
    matmul: Math.max(peak.torch?.matmul ?? 0, ortPeak?.matmul ?? 0),
    conv: Math.max(peak.torch?.conv ?? 0, ortPeak?.conv ?? 0),
    machine: machinePeak,
    torch: peak.torch,
    onnxruntime: ortPeak,
  },
  stages: Object.fromEntries(
    Object.entries(roofline).map(([stage, byScenario]) => [
      stage,
      // The top level: the runner one request at a time; every scenario below it.
      { ...byScenario["runner, 1 at a time"], scenarios: byScenario },
    ]),
  ),
  scenarios: [
    ...results.map((r) => ({
      name: r.name,
      setting: r.setting,
      concurrency: r.concurrency,
      images_per_s: r.imagesPerS,
      p50_latency_ms: r.p50LatencyMs,
      stage_ms_per_image: r.stageMsPerImage,
      calls_per_image: r.callsPerImage,
      rows_per_call: r.rowsPerCall,
      load_average_after: r.load,
    })),
    ...torchScenarios.map((s) => ({
      name: s.name,
      setting: "manifest defaults",
      batch: s.batch,
      images_per_s: s.imagesPerS,
      stage_ms_per_image: s.stageMsPerImage,
      calls_per_image: s.callsPerImage,
    })),
  ],
  ratios: {
    ...ratios,
    ...Object.fromEntries(
      [1, 4, 8]
        .map((c) => {
          const now = byName.get(
            results.find((r) => r.concurrency === c && r.setting === "manifest defaults")?.name ??
              "",
          );
          const old = results.find((r) => r.concurrency === c && r.setting === "old defaults");
          return [
            `manifest_over_old_defaults_${c}_at_a_time`,
            now && old ? now.imagesPerS.median / old.imagesPerS.median : null,
          ];
        })
        .filter(([, v]) => v !== null),
    ),
  },
};
mkdirSync(RESULTS, { recursive: true });
writeFileSync(join(RESULTS, "latest.json"), `${JSON.stringify(record, null, 2)}\n`);
writeFileSync(join(RESULTS, "latest.md"), `${markdown()}\n\`\`\`\n${lines.join("\n")}\n\`\`\`\n`);

/** The README's tables from this run: one dated copy of this file is what the README cites. */
function markdown(): string {
  const pct = (v: number) => `${(100 * v).toFixed(0)} %`;
  const ms = (m: Record<string, number>) =>
    STAGES.map((s) => (m[s] === undefined ? "—" : m[s].toFixed(0))).join(" · ");
  const b = torch.blas;
  const out = [
    `## \`npm run bench\`, ${startedAt.toISOString().slice(0, 16).replace("T", " ")} UTC`,
    "",
    `Bundle \`${bundle.id}\`; ${machine}; load average ${loadBefore.join(" ")} before, ${loadAfter.join(" ")} after. ` +
      `onnxruntime-node CPU provider, intra-op threads ${config.intraOpThreads || "auto"}. ` +
      `PyTorch ${torch.torch ?? "—"} eager, ${torch.threads ?? "—"} threads, BLAS ${b ? `${b.name} (\`${b.path}\`, ${b.blas_threads ?? "?"} threads)` : "—"}; ` +
      `networks: ${torch.network?.config ?? "—"}, weights: ${torch.network?.weights ?? "—"}; ` +
      `parameters of the runner's stages, bundle / PyTorch: ${torch.network?.generation_parameters.onnx.toLocaleString("en") ?? "—"} / ${torch.network?.generation_parameters.torch.toLocaleString("en") ?? "—"}.`,
    `Manifest defaults: ${describeSetting(defaults)}; old defaults: ${describeSetting(legacy)}. ${SIZE}, n = 1, ${repeats} repeats per scenario; images/s as median (range).`,
    "",
    `| scenario | images/s | p50 latency | ms/img ${STAGES.join(" · ")} |`,
    "|---|--:|--:|--:|",
    ...results.map(
      (r) =>
        `| ${r.name} | ${formatSpread(r.imagesPerS)} | ${r.p50LatencyMs.toFixed(0)} ms | ${ms(r.stageMsPerImage)} |`,
    ),
    ...torchScenarios.map(
      (s) => `| ${s.name} | ${formatSpread(s.imagesPerS)} | | ${ms(s.stageMsPerImage)} |`,
    ),
    "",
    `Ratios (medians): ${Object.entries(record.ratios)
      .map(
        ([k, v]) =>
          `${k.replaceAll("_", " ")} **${typeof v === "number" ? `${v.toFixed(2)}×` : v}**`,
      )
      .join("; ")}.`,
    "",
    `Peak fp32 GFLOP/s (fastest call): torch matmul ${peak.torch?.matmul.toFixed(0) ?? "—"}, conv ${peak.torch?.conv.toFixed(0) ?? "—"}; onnxruntime matmul ${ortPeak?.matmul.toFixed(0) ?? "—"}, conv ${ortPeak?.conv.toFixed(0) ?? "—"}; machine peak ${machinePeak.toFixed(0)} = 100 %.`,
    "",
  ];
  const names = Object.keys(Object.values(roofline)[0] ?? {});
  if (names.length > 0) {
    out.push(
      `| stage | GMAC/call | ${names.map((n) => `${n}: calls/img, ms/img, GFLOP/s, % of peak`).join(" | ")} |`,
      `|---|--:|${names.map(() => "--:").join("|")}|`,
      ...STAGES.map(
        (stage) =>
          `| ${stage} | ${gmac?.[stage].toPrecision(3)} | ${names
            .map((n) => {
              const r = roofline[stage][n];
              return `${r.calls_per_image.toFixed(0)}, ${r.ms_per_image.toFixed(0)}, ${r.achieved_gflops.toFixed(1)}, ${pct(r.fraction_of_peak)}`;
            })
            .join(" | ")} |`,
      ),
      "",
    );
  }
  return out.join("\n");
}
console.log(`\nwrote ${RESULTS}/latest.json and ${RESULTS}/latest.md`);
