// `npm run bench` (service part): ratios measured side by side in one run against a local
// stack (the built Worker in Miniflare + a real runner): cache hit vs miss latency, single flight,
// and concurrent misses (continuous batching) vs one at a time, through the whole service.
import { mkdtempSync, rmSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { LOCAL_API_KEY, startStack } from "../scripts/stack.ts";
import { percentile } from "../tests/load/load.ts";
import { metricValue } from "../tests/support.ts";

const { values } = parseArgs({
  options: {
    model: { type: "string", default: process.env.UNCLIP_BUNDLE ?? "models/tiny-test" },
    misses: { type: "string", default: "6" },
    hits: { type: "string", default: "30" },
    steps: { type: "string" },
  },
});

const dir = mkdtempSync(join(tmpdir(), "unclip-bench-"));
const stack = await startStack({
  bundle: values.model,
  stateDir: dir,
  edgeVars: {
    RATE_LIMIT_BURST_UNITS: "1000000",
    RATE_LIMIT_UNITS_PER_MINUTE: "1000000",
    EDGE_RATE_LIMIT_ENABLED: "false",
  },
});
const runnerUrl = stack.runners[0].url;
const steps = values.steps ? Number(values.steps) : undefined;
let seed = Math.floor(Math.random() * 1e9);

async function generate(body: object): Promise<number> {
  const t0 = performance.now();
  const res = await fetch(`${stack.edgeUrl}/v1/images/generations`, {
    method: "POST",
    headers: { authorization: `Bearer ${LOCAL_API_KEY}`, "content-type": "application/json" },
    body: JSON.stringify({ prompt: "a red circle on a blue background", steps, ...body }),
  });
  await res.arrayBuffer();
  if (res.status !== 200) throw new Error(`generation answered ${res.status}`);
  return performance.now() - t0;
}

const median = (xs: number[]) =>
  percentile(
    [...xs].sort((a, b) => a - b),
    50,
  );

try {
  await generate({ seed: seed++ }); // warm-up: first compile of the Worker paths, ORT sessions

  // Hit vs miss, interleaved so machine noise hits both alike.
  const missMs: number[] = [];
  const hitMs: number[] = [];
  const misses = Number(values.misses);
  const hitsPerMiss = Math.max(1, Math.round(Number(values.hits) / misses));
  for (let i = 0; i < misses; i++) {
    const s = seed++;
    missMs.push(await generate({ seed: s }));
    for (let j = 0; j < hitsPerMiss; j++) hitMs.push(await generate({ seed: s }));
  }

  // Single flight: 10 identical concurrent misses → runner jobs.
  const jobsBefore = await metricValue(runnerUrl, "unclip_jobs_total");
  const flightSeed = seed++;
  await Promise.all(Array.from({ length: 10 }, () => generate({ seed: flightSeed })));
  const flightJobs = (await metricValue(runnerUrl, "unclip_jobs_total")) - jobsBefore;

  // 8 different misses one after another vs all at once (continuous batching in the runner).
  const t0 = performance.now();
  for (let i = 0; i < 8; i++) await generate({ seed: seed++ });
  const sequentialS = (performance.now() - t0) / 1000;
  const t1 = performance.now();
  await Promise.all(Array.from({ length: 8 }, () => generate({ seed: seed++ })));
  const concurrentS = (performance.now() - t1) / 1000;

  const rows: Array<[string, string, string]> = [
    [
      "cache hit vs miss (median latency)",
      `${median(hitMs).toFixed(1)} ms vs ${median(missMs).toFixed(1)} ms`,
      `miss/hit = ${(median(missMs) / median(hitMs)).toFixed(1)}×`,
    ],
    [
      "single flight (10 identical concurrent misses)",
      `${flightJobs} runner job(s)`,
      `10 : ${flightJobs}`,
    ],
    [
      "8 misses concurrent vs one at a time",
      `${(8 / concurrentS).toFixed(2)} vs ${(8 / sequentialS).toFixed(2)} images/s`,
      `${(sequentialS / concurrentS).toFixed(2)}×`,
    ],
  ];
  console.log(
    `\nservice bench — ${values.model}, ${cpus().length}× ${cpus()[0]?.model ?? "cpu"}, Node ${process.version}, onnxruntime CPU`,
  );
  console.log(`hits n=${hitMs.length}, misses n=${missMs.length}`);
  const width = Math.max(...rows.map((r) => r[0].length));
  for (const [name, measured, ratio] of rows)
    console.log(`${name.padEnd(width)}  ${measured.padEnd(34)}  ${ratio}`);
} finally {
  await stack.stop();
  rmSync(dir, { recursive: true, force: true });
}
