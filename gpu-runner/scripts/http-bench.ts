// Step 2 of the GPU check: closed-loop load on a running runner through its HTTP API, signed as
// the edge signs (shared/src/signing.ts). For each concurrency level, `c` clients each send
// their next request as soon as the last one answered; images/s over the level's wall time,
// per-request latency p50/p99, and from /metrics the rows per network call and the network
// time per image of each stage. One JSON document on stdout.
//
//   node http-bench.mjs --url http://127.0.0.1:8790 --bundle models/emoji-gpu --levels 1,8,32,64
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { type BundleManifest, poolPathOf, signRequest } from "@unclip/shared";

const { values } = parseArgs({
  options: {
    url: { type: "string", default: "http://127.0.0.1:8790" },
    secret: { type: "string", default: process.env.UNCLIP_POOL_SECRET ?? "dev-pool-secret" },
    bundle: { type: "string", default: "models/emoji-gpu" },
    levels: { type: "string", default: "1,8,32,64" },
    size: { type: "string", default: "256x256" },
    /** Requests per level: max(this, 4 × concurrency), so every level runs several rounds. */
    "min-requests": { type: "string", default: "16" },
    /** Stop a level after this long (the figures cover what finished). */
    "level-timeout-s": { type: "string", default: "90" },
  },
});
const base = values.url;
const manifest = JSON.parse(
  await readFile(join(values.bundle, "manifest.json"), "utf8"),
) as BundleManifest;
const { id } = (await (await fetch(`${base}/v1/bundle`)).json()) as { id: string };
const { stages } = manifest;
const PROMPTS = [
  "a smiling face with heart eyes",
  "a red apple",
  "a woman mage",
  "a yellow star",
  "a cat face",
  "a green heart",
  "a rocket",
  "a slice of pizza",
];

let seed = 1;
async function generate(): Promise<number> {
  const body = JSON.stringify({
    bundle: id,
    prompt: PROMPTS[seed % PROMPTS.length],
    n: 1,
    seed: seed++,
    size: values.size,
    prior_steps: stages.prior.default_steps,
    prior_guidance_scale: stages.prior.default_guidance,
    decoder_steps: stages.decoder.default_steps,
    decoder_guidance_scale: stages.decoder.default_guidance,
    ...(stages.upsamplers[0] ? { upsampler_steps: stages.upsamplers[0].default_steps } : {}),
  });
  const headers = await signRequest(values.secret, {
    method: "POST",
    path: poolPathOf("generation"),
    body,
  });
  const started = performance.now();
  const res = await fetch(`${base}${poolPathOf("generation")}`, {
    method: "POST",
    body,
    headers: { ...headers, "content-type": "application/json" },
  });
  const answer = await res.text();
  if (res.status !== 200) throw new Error(`generate: ${res.status} ${answer.slice(0, 300)}`);
  return performance.now() - started;
}

/** Sum and count of each labelled histogram series of /metrics, by stage. */
async function histograms(): Promise<Record<string, { sum: number; count: number }>> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const out: Record<string, { sum: number; count: number }> = {};
  for (const m of text.matchAll(
    /^(unclip_batch_size|unclip_stage_latency_seconds)_(sum|count)\{stage="([^"]+)"\} (\S+)$/gm,
  )) {
    const key = `${m[1]}:${m[3]}`;
    out[key] ??= { sum: 0, count: 0 };
    out[key][m[2] as "sum" | "count"] = Number(m[4]);
  }
  return out;
}

const quantile = (sorted: number[], q: number) =>
  sorted.length === 0
    ? Number.NaN
    : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];

async function level(concurrency: number, requests: number, timeoutS: number) {
  const before = await histograms();
  const latencies: number[] = [];
  let next = 0;
  const stopAt = performance.now() + timeoutS * 1000;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < requests && performance.now() < stopAt) {
        next++;
        latencies.push(await generate());
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const after = await histograms();
  const perStage: Record<string, { rowsPerCall: number; msPerImage: number }> = {};
  for (const key of Object.keys(after)) {
    const [metric, stage] = key.split(":");
    if (metric !== "unclip_batch_size") continue;
    const rows = after[key].sum - (before[key]?.sum ?? 0);
    const calls = after[key].count - (before[key]?.count ?? 0);
    const lat = `unclip_stage_latency_seconds:${stage}`;
    const netS = (after[lat]?.sum ?? 0) - (before[lat]?.sum ?? 0);
    if (calls > 0) {
      perStage[stage] = {
        rowsPerCall: rows / calls,
        msPerImage: (1000 * netS) / latencies.length,
      };
    }
  }
  latencies.sort((a, b) => a - b);
  return {
    concurrency,
    images: latencies.length,
    seconds,
    imagesPerS: latencies.length / seconds,
    p50Ms: quantile(latencies, 0.5),
    p99Ms: quantile(latencies, 0.99),
    perStage,
  };
}

const levels = values.levels.split(",").map(Number);
const minRequests = Number(values["min-requests"]);
const timeoutS = Number(values["level-timeout-s"]);
// Warm-up at the highest level: the GPU provider picks kernels (cuDNN's algorithm search) the
// first time it sees each batch shape, and the levels below should not pay for that.
const warm = await level(Math.max(...levels), Math.max(...levels), timeoutS);
const results = [];
for (const c of levels) {
  results.push(await level(c, Math.max(minRequests, 4 * c), timeoutS));
  console.error(
    `concurrency ${c}: ${results.at(-1)?.imagesPerS.toFixed(2)} images/s, p50 ${results.at(-1)?.p50Ms.toFixed(0)} ms`,
  );
}
const one = results.find((r) => r.concurrency === 1);
console.log(
  JSON.stringify({
    bundle: id,
    size: values.size,
    steps: {
      prior: stages.prior.default_steps,
      decoder: stages.decoder.default_steps,
      upsampler: stages.upsamplers[0]?.default_steps ?? null,
    },
    warmUp: { images: warm.images, seconds: warm.seconds },
    levels: results,
    speedupOverOne: one
      ? Object.fromEntries(results.map((r) => [r.concurrency, r.imagesPerS / one.imagesPerS]))
      : null,
  }),
);
