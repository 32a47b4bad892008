import { describe, expect, it } from "vitest";
import { OPERATIONS } from "./operation.ts";
import {
  POOL_PATHS,
  PREVIOUS_PROTOCOL_VERSION,
  PROTOCOL_VERSION,
  PROTOCOL_VERSIONS,
  poolPathOf,
  poolResponseIn,
  poolResponseSchema,
  poolResponseSchemas,
} from "./protocol.ts";

const rendered = {
  bundle: "tiny-test@1",
  images: [{ index: 0, png_b64: "iVBORw0K", sha256: "a".repeat(64), width: 32, height: 32 }],
};

describe("protocol versions (Contract 3)", () => {
  it("names every operation's path in every version, each path under its version", () => {
    for (const version of PROTOCOL_VERSIONS) {
      const paths = OPERATIONS.map((operation) => poolPathOf(operation, version));
      expect(new Set(paths).size).toBe(OPERATIONS.length);
      for (const path of paths) expect(path.startsWith(`/v${version}/`)).toBe(true);
    }
    expect(PROTOCOL_VERSIONS).toEqual([PROTOCOL_VERSION, PREVIOUS_PROTOCOL_VERSION]);
  });

  it("keeps v1's paths as v1 spoke them (deployed edges still post to them)", () => {
    expect(POOL_PATHS[1]).toEqual({
      generation: "/v1/generate",
      variation: "/v1/variations",
      edit: "/v1/edits",
      interpolation: "/v1/interpolate",
    });
  });

  it("words an answer in the request's version, and an edge reads both", () => {
    const v1 = poolResponseIn(1, rendered);
    const v2 = poolResponseIn(2, rendered);
    expect(v1).not.toHaveProperty("protocol");
    expect(v2).toMatchObject({ protocol: 2 });
    // A v1 edge parses answers strictly: a field it does not know would fail it.
    expect(poolResponseSchemas[1].safeParse(v1).success).toBe(true);
    expect(poolResponseSchemas[1].safeParse(v2).success).toBe(false);
    expect(poolResponseSchema.parse(v1)).toEqual(rendered);
    expect(poolResponseSchema.parse(v2)).toEqual({ protocol: 2, ...rendered });
    expect(poolResponseSchema.safeParse({ protocol: 3, ...rendered }).success).toBe(false);
  });
});
