// Output formats. The cache keeps one PNG per key (what the pool renders); an answer in webp
// or jpeg is encoded from it here, on the way out, with jSquash's WASM builds of libwebp and
// MozJPEG (and the png crate to read the PNG back), which are made to run inside a Worker.
// The WASM modules are imported (compiled at upload, as Workers require: no runtime compile).

import JPEG_ENCODER_WASM from "@jsquash/jpeg/codec/enc/mozjpeg_enc.wasm";
import encodeJpeg, { init as initJpegEncoder } from "@jsquash/jpeg/encode.js";
import PNG_WASM from "@jsquash/png/codec/pkg/squoosh_png_bg.wasm";
import { decode as decodePng, init as initPngDecoder } from "@jsquash/png/decode.js";
// The SIMD build: jSquash picks the glue by feature detection, and workerd's V8 has SIMD.
import WEBP_ENCODER_WASM from "@jsquash/webp/codec/enc/webp_enc_simd.wasm";
import encodeWebp, { init as initWebpEncoder } from "@jsquash/webp/encode.js";
import type { OutputFormat } from "@unclip/shared";

export interface OutputEncoding {
  format: OutputFormat;
  /** 0..100 for webp and jpeg (the codec's quality: lower is smaller); png ignores it. */
  compression: number;
}

export const CONTENT_TYPES: Record<OutputFormat, string> = {
  png: "image/png",
  webp: "image/webp",
  jpeg: "image/jpeg",
};

/** One instance of each codec per isolate, made on first use. */
let codecs: Promise<void> | undefined;

function codecsReady(): Promise<void> {
  // jSquash's init types name only its options argument; a compiled module comes first.
  const withModule = (init: (...args: never[]) => Promise<unknown>, module: WebAssembly.Module) =>
    (init as unknown as (module: WebAssembly.Module) => Promise<unknown>)(module);
  codecs ??= Promise.all([
    initPngDecoder(PNG_WASM),
    withModule(initWebpEncoder, WEBP_ENCODER_WASM),
    withModule(initJpegEncoder, JPEG_ENCODER_WASM),
  ]).then(
    () => undefined,
    (error: unknown) => {
      codecs = undefined; // a failed start is retried by the next request
      throw error;
    },
  );
  return codecs;
}

/** The image in `encoding`: the PNG itself for png, else decoded and encoded once. */
export async function encodeOutput(png: Uint8Array, encoding: OutputEncoding): Promise<Uint8Array> {
  if (encoding.format === "png") return png;
  await codecsReady();
  const pixels = await decodePng(png.slice().buffer);
  const quality = encoding.compression;
  const encoded =
    encoding.format === "webp"
      ? await encodeWebp(pixels, { quality })
      : await encodeJpeg(pixels, { quality });
  return new Uint8Array(encoded);
}
