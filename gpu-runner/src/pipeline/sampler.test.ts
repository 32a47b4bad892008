// Which sampler each stage runs, end to end with the tiny bundle's real graphs: the request's
// per-stage fields, else the manifest's `sampler` (DDIM for bundles written before the field).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LoadedBundle, loadBundle } from "../bundle/load.ts";
import { RunnerMetrics } from "../metrics.ts";
import { Runner } from "../runner.ts";
import { generateRequest } from "../testing/requests.ts";
import { TINY_BUNDLE_DIR } from "../testing/tinyBundle.ts";

describe("sampler choice per stage (tiny bundle)", () => {
  let bundle: LoadedBundle;
  beforeAll(async () => {
    bundle = await loadBundle(TINY_BUNDLE_DIR, { providers: ["cpu"], intraOpThreads: 1 });
  });
  afterAll(() => bundle?.release());

  const runner = (b: LoadedBundle) =>
    new Runner(b, {
      maxBatch: 16,
      maxQueue: 64,
      jobTimeoutMs: 60_000,
      ddimEta: 0,
      metrics: new RunnerMetrics({ defaultMetrics: false }),
    });
  const request = (overrides = {}) =>
    generateRequest(bundle.id, {
      size: "32x32",
      seed: 5,
      prior_steps: 4,
      decoder_steps: 4,
      ...overrides,
    });
  const sha = async (r: Runner, overrides = {}) =>
    (await r.submit({ operation: "generation", request: request(overrides) })).images[0].sha256;

  it("runs DDIM where neither the request nor the manifest names a sampler", async () => {
    expect(bundle.manifest.stages.decoder.sampler).toBe("ddim");
    const r = runner(bundle);
    const ddim = { prior_sampler: "ddim", decoder_sampler: "ddim", upsampler_sampler: "ddim" };
    expect(await sha(r)).toBe(await sha(r, ddim));
  });

  it("gives a different image when one stage's sampler changes, and the same one when repeated", async () => {
    const r = runner(bundle);
    const base = await sha(r);
    for (const field of ["prior_sampler", "decoder_sampler", "upsampler_sampler"]) {
      const changed = await sha(r, { [field]: "dpmpp_2m" });
      expect(changed).not.toBe(base);
      expect(await sha(r, { [field]: "dpmpp_2m" })).toBe(changed);
    }
  });

  it("takes a stage's default sampler from the manifest, and the request overrides it", async () => {
    const dpmpp = structuredClone(bundle.manifest);
    for (const stage of [dpmpp.stages.prior, dpmpp.stages.decoder, ...dpmpp.stages.upsamplers]) {
      stage.sampler = "dpmpp_2m";
    }
    const r = runner({ ...bundle, manifest: dpmpp });
    const all = {
      prior_sampler: "dpmpp_2m",
      decoder_sampler: "dpmpp_2m",
      upsampler_sampler: "dpmpp_2m",
    };
    expect(await sha(r)).toBe(await sha(runner(bundle), all));
    expect(await sha(r, { decoder_sampler: "ddim" })).toBe(
      await sha(runner(bundle), { ...all, decoder_sampler: "ddim" }),
    );
  });
});
