import { describe, expect, it } from "vitest";
import { DEV_POOL_SECRET, parseConfig } from "./config.ts";

describe("parseConfig", () => {
  it("applies the documented defaults", () => {
    const config = parseConfig({});
    expect(config).toMatchObject({
      port: 8790,
      bundleDir: "models/tiny-test",
      providers: ["cpu"],
      maxBatch: 16,
      poolSecret: DEV_POOL_SECRET,
    });
  });

  it("reads providers in priority order", () => {
    expect(parseConfig({ UNCLIP_PROVIDERS: "cuda, CPU" }).providers).toEqual(["cuda", "cpu"]);
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
    expect(parseConfig({ NODE_ENV: "production", UNCLIP_POOL_SECRET: secret }).poolSecret).toBe(
      secret,
    );
  });
});
