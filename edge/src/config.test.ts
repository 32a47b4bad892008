import { describe, expect, it } from "vitest";
import { edgeConfigSchema } from "./config.ts";

const valid = {
  POOL_URL: "http://127.0.0.1:8790",
  POOL_SECRET: "a-pool-secret",
  IMAGE_URL_SECRET: "an-image-url-secret",
};

const problemsOf = (env: Record<string, string>) =>
  edgeConfigSchema.safeParse(env).error?.issues.map((issue) => issue.path.join(".")) ?? [];

describe("the edge configuration", () => {
  it("defaults to no CORS origin and one-hour image URLs", () => {
    const config = edgeConfigSchema.parse(valid);
    expect(config.CORS_ALLOWED_ORIGINS).toEqual([]);
    expect(config.IMAGE_URL_TTL_SECONDS).toBe(3600);
  });

  it("parses CORS origins (lowercased, spaces trimmed), a port wildcard and *", () => {
    const config = edgeConfigSchema.parse({
      ...valid,
      CORS_ALLOWED_ORIGINS: " https://App.Example.com , http://localhost:*,*,http://[::1]:3000",
    });
    expect(config.CORS_ALLOWED_ORIGINS).toEqual([
      "https://app.example.com",
      "http://localhost:*",
      "*",
      "http://[::1]:3000",
    ]);
  });

  it("refuses origins with a path, without a scheme, or with a wildcard host, naming the variable", () => {
    for (const origin of ["https://app.example.com/", "app.example.com", "https://*.example.com"]) {
      expect(problemsOf({ ...valid, CORS_ALLOWED_ORIGINS: origin }), origin).toEqual([
        "CORS_ALLOWED_ORIGINS.0",
      ]);
    }
  });

  it("needs an image URL secret of 16 characters or more, and a positive TTL", () => {
    const { IMAGE_URL_SECRET: _, ...withoutSecret } = valid;
    expect(problemsOf(withoutSecret)).toEqual(["IMAGE_URL_SECRET"]);
    expect(problemsOf({ ...valid, IMAGE_URL_SECRET: "short" })).toEqual(["IMAGE_URL_SECRET"]);
    expect(problemsOf({ ...valid, IMAGE_URL_TTL_SECONDS: "0" })).toEqual(["IMAGE_URL_TTL_SECONDS"]);
  });

  it("takes a previous image URL secret only during a rotation, held to the same length", () => {
    expect(problemsOf({ ...valid, IMAGE_URL_SECRET_PREVIOUS: "an-old-image-url-secret" })).toEqual(
      [],
    );
    expect(problemsOf({ ...valid, IMAGE_URL_SECRET_PREVIOUS: "" })).toEqual([]);
    expect(problemsOf({ ...valid, IMAGE_URL_SECRET_PREVIOUS: "short" })).toEqual([
      "IMAGE_URL_SECRET_PREVIOUS",
    ]);
  });
});
