// Soak: 1,000 images from one runner process on the tiny bundle (signed protocol requests,
// 4 in flight). The runner's resident memory after warm-up must grow by less than 10 %.

import { poolPathOf, signRequest } from "@unclip/shared";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  freePort,
  LOCAL_POOL_SECRET,
  type ManagedProcess,
  startRunner,
  stopProcess,
} from "../../scripts/stack.ts";
import { metricValue } from "../support.ts";

const IMAGES = Number(process.env.UNCLIP_SOAK_IMAGES ?? 1000);
const PER_REQUEST = 2;
const WARMUP_IMAGES = 100;

let runner: ManagedProcess;
let bundleId: string;

beforeAll(async () => {
  runner = startRunner(await freePort(), "models/tiny-test");
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    const ready = await fetch(`${runner.url}/readyz`).catch(() => undefined);
    if (ready?.ok) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  bundleId = ((await (await fetch(`${runner.url}/v1/bundle`)).json()) as { id: string }).id;
});
afterAll(async () => runner && stopProcess(runner));

async function generate(seed: number): Promise<void> {
  const body = JSON.stringify({
    prompt: "two small red circles on a blue background",
    n: PER_REQUEST,
    bundle: bundleId,
    seed,
    size: "32x32",
    prior_steps: 10,
    prior_guidance_scale: 2,
    decoder_steps: 10,
    decoder_guidance_scale: 3,
    upsampler_steps: 5,
  });
  const headers = await signRequest(LOCAL_POOL_SECRET, {
    method: "POST",
    path: poolPathOf("generation"),
    body,
  });
  const res = await fetch(`${runner.url}${poolPathOf("generation")}`, {
    method: "POST",
    headers: { ...headers, "content-type": "application/json" },
    body,
  });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`runner answered ${res.status}: ${text.slice(0, 200)}`);
}

async function generateImages(count: number, firstSeed: number, concurrency = 4): Promise<void> {
  let next = 0;
  const requests = Math.ceil(count / PER_REQUEST);
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < requests) await generate(firstSeed + next++);
    }),
  );
}

describe("soak", () => {
  it(`generates ${IMAGES} images with less than 10 % memory growth after warm-up`, async () => {
    await generateImages(WARMUP_IMAGES, 1);
    const rssAfterWarmup = await metricValue(runner.url, "process_resident_memory_bytes");
    const heapAfterWarmup = await metricValue(runner.url, "nodejs_heap_size_used_bytes");
    const t0 = performance.now();
    await generateImages(IMAGES - WARMUP_IMAGES, 1_000_000);
    const seconds = (performance.now() - t0) / 1000;
    const rssAtEnd = await metricValue(runner.url, "process_resident_memory_bytes");
    const heapAtEnd = await metricValue(runner.url, "nodejs_heap_size_used_bytes");
    const generated = await metricValue(runner.url, "unclip_images_generated_total");
    const growth = rssAtEnd / rssAfterWarmup - 1;
    const mb = (b: number) => (b / 1024 / 1024).toFixed(1);
    console.log(
      `soak: ${generated} images in ${seconds.toFixed(0)} s after warm-up; RSS ${mb(rssAfterWarmup)} → ${mb(rssAtEnd)} MB (${(growth * 100).toFixed(1)} %); heap used ${mb(heapAfterWarmup)} → ${mb(heapAtEnd)} MB`,
    );
    expect(generated).toBeGreaterThanOrEqual(IMAGES);
    expect(growth).toBeLessThan(0.1);
  });
});
