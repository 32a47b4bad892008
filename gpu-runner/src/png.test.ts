import { encode } from "fast-png";
import { describe, expect, it } from "vitest";
import { decodePngToTensor, encodeRgbPng, resizeSquare, tensorToRgbBytes } from "./png.ts";

describe("resizeSquare", () => {
  it("keeps a constant image constant both ways", () => {
    const flat = new Float32Array(3 * 4 * 4).fill(0.25);
    for (const side of [2, 3, 8, 13]) {
      for (const v of resizeSquare(flat, 3, 4, side)) expect(v).toBeCloseTo(0.25, 6);
    }
  });

  it("averages 2×2 blocks when halving and interpolates when doubling", () => {
    const img = new Float32Array([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]);
    expect(Array.from(resizeSquare(img, 1, 4, 2))).toEqual([2.5, 4.5, 10.5, 12.5]);
    const up = resizeSquare(new Float32Array([0, 1, 2, 3]), 1, 2, 4);
    expect(up[0]).toBe(0); // corners clamp
    expect(up[1]).toBeCloseTo(0.25, 6);
  });
});

describe("PNG round trip", () => {
  it("turns a tensor into RGB bytes and back within one quantisation step", async () => {
    const side = 8;
    const chw = new Float32Array(3 * side * side).map((_, i) => Math.sin(i) * 0.9);
    const png = await encodeRgbPng(tensorToRgbBytes(chw, side), side);
    const back = decodePngToTensor(png, side);
    back.forEach((v, i) => {
      expect(Math.abs(v - chw[i])).toBeLessThanOrEqual(1 / 127.5);
    });
  });

  it("composites RGBA on white and centre-crops non-square images", () => {
    // 3 wide × 1 high, fully transparent black everywhere except an opaque red middle.
    const rgba = new Uint8Array([0, 0, 0, 0, 255, 0, 0, 255, 0, 0, 0, 0]);
    const png = encode({ width: 3, height: 1, data: rgba, channels: 4, depth: 8 });
    expect(Array.from(decodePngToTensor(png, 1))).toEqual([1, -1, -1]);
  });

  it("rejects bytes that are not a PNG with a 400 naming image_b64", () => {
    expect(() => decodePngToTensor(new Uint8Array([1, 2, 3]), 4)).toThrow(
      expect.objectContaining({ status: 400, param: "image_b64" }),
    );
  });
});
