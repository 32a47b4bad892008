// Soak: 10,000 images from one runner process on the tiny bundle (signed protocol requests,
// 4 in flight). The runner's resident memory from image 1,000 (after warm-up: onnxruntime's
// arenas and malloc's have grown to the batch shapes they serve) to the last image must grow
// by less than 3 %. RSS and heap are printed every 1,000 images (README: "Memory").

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

const IMAGES = Number(process.env.UNCLIP_SOAK_IMAGES ?? 10_000);
const PER_REQUEST = 2;
const WARMUP_IMAGES = 1000;
const SAMPLE_EVERY = 1000;
const GROWTH_LIMIT = 0.03;

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
  it(`generates ${IMAGES} images with less than 3 % RSS growth after warm-up`, async () => {
    const mb = (b: number) => (b / 1024 / 1024).toFixed(1);
    const samples: { images: number; rss: number; heap: number }[] = [];
    const sample = async (images: number) => {
      samples.push({
        images,
        rss: await metricValue(runner.url, "process_resident_memory_bytes"),
        heap: await metricValue(runner.url, "nodejs_heap_size_used_bytes"),
      });
      const last = samples[samples.length - 1];
      console.log(`soak: ${images} images: RSS ${mb(last.rss)} MB, heap used ${mb(last.heap)} MB`);
    };
    await generateImages(WARMUP_IMAGES, 1);
    await sample(WARMUP_IMAGES);
    const t0 = performance.now();
    for (let done = WARMUP_IMAGES; done < IMAGES; done += SAMPLE_EVERY) {
      const batch = Math.min(SAMPLE_EVERY, IMAGES - done);
      await generateImages(batch, 1_000_000 + done);
      await sample(done + batch);
    }
    const seconds = (performance.now() - t0) / 1000;
    const generated = await metricValue(runner.url, "unclip_images_generated_total");
    const [first, last] = [samples[0], samples[samples.length - 1]];
    const growth = last.rss / first.rss - 1;
    console.log(
      `soak: ${generated} images, ${seconds.toFixed(0)} s after warm-up; RSS ${mb(first.rss)} → ${mb(last.rss)} MB (${(growth * 100).toFixed(1)} %); heap used ${mb(first.heap)} → ${mb(last.heap)} MB`,
    );
    expect(generated).toBeGreaterThanOrEqual(IMAGES);
    expect(growth).toBeLessThan(GROWTH_LIMIT);
  });
});
