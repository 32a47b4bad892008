// Runs inside workerd: the WASM codecs load there, and each format decodes back to the image.
import JPEG_DECODER_WASM from "@jsquash/jpeg/codec/dec/mozjpeg_dec.wasm";
import decodeJpeg, { init as initJpegDecoder } from "@jsquash/jpeg/decode.js";
import PNG_WASM from "@jsquash/png/codec/pkg/squoosh_png_bg.wasm";
import { decode as decodePng } from "@jsquash/png/decode.js";
import encodePng, { init as initPngEncoder } from "@jsquash/png/encode.js";
import WEBP_DECODER_WASM from "@jsquash/webp/codec/dec/webp_dec.wasm";
import decodeWebp, { init as initWebpDecoder } from "@jsquash/webp/decode.js";
import { beforeAll, describe, expect, it } from "vitest";
import { encodeOutput } from "./encode.ts";

const SIDE = 64;

/** A smooth gradient with a disc: the kind of picture the pool sends, as a PNG. */
async function samplePng(): Promise<Uint8Array> {
  const data = new Uint8ClampedArray(SIDE * SIDE * 4);
  for (let y = 0; y < SIDE; y++) {
    for (let x = 0; x < SIDE; x++) {
      const inside = (x - 32) ** 2 + (y - 28) ** 2 < 18 ** 2;
      const p = (y * SIDE + x) * 4;
      data.set([inside ? 220 : x * 4, inside ? 40 : y * 4, inside ? 60 : 128, 255], p);
    }
  }
  const image = { data, width: SIDE, height: SIDE, colorSpace: "srgb" };
  return new Uint8Array(await encodePng(image as Parameters<typeof encodePng>[0]));
}

/** Mean absolute difference of the RGB channels of two RGBA images of one size. */
function meanDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) if (i % 4 !== 3) sum += Math.abs(a[i] - b[i]);
  return sum / ((a.length * 3) / 4);
}

describe("output encoding inside the Worker", () => {
  let png: Uint8Array;
  beforeAll(async () => {
    await initPngEncoder(PNG_WASM);
    png = await samplePng();
    await initWebpDecoder(WEBP_DECODER_WASM as never);
    await initJpegDecoder(JPEG_DECODER_WASM as never);
  });

  it("hands a png answer the stored PNG itself", async () => {
    expect(await encodeOutput(png, { format: "png", compression: 100 })).toBe(png);
  });

  it.each([
    ["webp", decodeWebp, [0x52, 0x49, 0x46, 0x46]], // RIFF
    ["jpeg", decodeJpeg, [0xff, 0xd8, 0xff]], // SOI
  ] as const)("encodes %s that decodes back to the same picture", async (format, decode, magic) => {
    const bytes = await encodeOutput(png, { format, compression: 90 });
    expect([...bytes.slice(0, magic.length)]).toEqual(magic);
    const back = await decode(bytes.slice().buffer);
    expect([back.width, back.height]).toEqual([SIDE, SIDE]);
    const original = await decodePng(png.slice().buffer);
    expect(meanDifference(back.data, original.data)).toBeLessThan(6);
  });

  it.each(["webp", "jpeg"] as const)(
    "gives fewer %s bytes at a lower compression",
    async (format) => {
      const high = await encodeOutput(png, { format, compression: 95 });
      const low = await encodeOutput(png, { format, compression: 20 });
      expect(low.length).toBeLessThan(high.length);
    },
  );
});
