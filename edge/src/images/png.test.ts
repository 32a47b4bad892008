import { describe, expect, it } from "vitest";
import { pngHeaderOnly, solidPng } from "../../test/png.ts";
import type { ApiError } from "../errors.ts";
import { isPng, MAX_VARIATION_SIDE, readPngHeader } from "./png.ts";

function failure(bytes: Uint8Array): ApiError {
  try {
    readPngHeader(bytes);
  } catch (error) {
    return error as ApiError;
  }
  throw new Error("expected readPngHeader to refuse the bytes");
}

describe("PNG header checks", () => {
  it("reads the dimensions of a real PNG from IHDR", async () => {
    expect(readPngHeader(await solidPng(24, 24))).toEqual({ width: 24, height: 24 });
  });

  it("refuses bytes without the PNG signature with 400, as OpenAI does", () => {
    expect(isPng(new Uint8Array([0xff, 0xd8, 0xff]))).toBe(false);
    expect(failure(new TextEncoder().encode("GIF89a......")).status).toBe(400);
  });

  it("refuses a missing IHDR, zero or huge dimensions and non-square images, naming image", () => {
    const cases: Array<[Uint8Array, RegExp]> = [
      [pngHeaderOnly(8, 8).slice(0, 20), /IHDR/],
      [pngHeaderOnly(0, 0), /zero/],
      [pngHeaderOnly(MAX_VARIATION_SIDE + 1, MAX_VARIATION_SIDE + 1), /too large/],
      [pngHeaderOnly(0xffffffff, 0xffffffff), /too large/],
      [pngHeaderOnly(64, 63), /square/],
    ];
    for (const [bytes, reason] of cases) {
      const error = failure(bytes);
      expect(error.status).toBe(400);
      expect(error.body.error.param).toBe("image");
      expect(error.message).toMatch(reason);
    }
  });
});
