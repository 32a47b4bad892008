import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DEV_POOL_SECRET, defaultBundleDir, gpuRequired, parseConfig } from "./config.ts";

describe("defaultBundleDir", () => {
  it("prefers a shipped emoji bundle and falls back to the tiny test bundle", () => {
    const dir = mkdtempSync(join(tmpdir(), "models-"));
    expect(defaultBundleDir(dir)).toBe(join(dir, "tiny-test"));
    for (const name of ["emoji-tiny", "emoji-cpu", "shapes-cpu"]) {
      mkdirSync(join(dir, name));
      writeFileSync(join(dir, name, "manifest.json"), "{}");
    }
    expect(defaultBundleDir(dir)).toBe(join(dir, "emoji-cpu"));
    rmSync(dir, { recursive: true });
  });
});

describe("parseConfig", () => {
  it("applies the documented defaults", () => {
    const config = parseConfig({});
    expect(config).toMatchObject({
      port: 8790,
      providers: ["cpu"],
      maxBatch: 16,
      poolSecrets: [DEV_POOL_SECRET],
    });
  });

  it("reads providers in priority order", () => {
    expect(parseConfig({ UNCLIP_PROVIDERS: "cuda, CPU" }).providers).toEqual(["cuda", "cpu"]);
    expect(parseConfig({ UNCLIP_PROVIDERS: "webgpu" }).providers).toEqual(["webgpu"]);
  });

  it("requires the GPU exactly when the provider list names no cpu", () => {
    expect(gpuRequired(parseConfig({ UNCLIP_PROVIDERS: "cuda" }).providers)).toBe(true);
    expect(gpuRequired(parseConfig({ UNCLIP_PROVIDERS: "cuda,webgpu" }).providers)).toBe(true);
    expect(gpuRequired(parseConfig({ UNCLIP_PROVIDERS: "cuda,cpu" }).providers)).toBe(false);
    expect(gpuRequired(parseConfig({}).providers)).toBe(false);
  });

  it("names every invalid variable at once", () => {
    expect(() =>
      parseConfig({ UNCLIP_PORT: "http", UNCLIP_PROVIDERS: "tpu", UNCLIP_MAX_BATCH: "0" }),
    ).toThrow(/UNCLIP_PORT[\s\S]*UNCLIP_PROVIDERS[\s\S]*UNCLIP_MAX_BATCH/);
  });

  it("refuses the development secret in production", () => {
    expect(() => parseConfig({ NODE_ENV: "production" })).toThrow(
      /UNCLIP_POOL_SECRET: is required when NODE_ENV=production/,
    );
    const secret = "a-long-production-secret";
    expect(parseConfig({ NODE_ENV: "production", UNCLIP_POOL_SECRET: secret }).poolSecrets).toEqual(
      [secret],
    );
  });

  it("accepts the previous pool secret beside the current one during a rotation", () => {
    const rotating = parseConfig({
      UNCLIP_POOL_SECRET: "the-new-secret",
      UNCLIP_POOL_SECRET_PREVIOUS: "the-old-secret",
    });
    expect(rotating.poolSecrets).toEqual(["the-new-secret", "the-old-secret"]);
    // A previous secret alone would leave the development secret as the current one.
    expect(() => parseConfig({ UNCLIP_POOL_SECRET_PREVIOUS: "the-old-secret" })).toThrow(
      /UNCLIP_POOL_SECRET_PREVIOUS: needs UNCLIP_POOL_SECRET/,
    );
  });
});
