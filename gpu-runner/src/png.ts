// Pixels in and out: [-1, 1] float CHW tensors ↔ 8-bit RGB PNG, and the one resampler used for
// both directions (bilinear up, area average down), separable over a precomputed weight matrix.
import { promisify } from "node:util";
import { crc32, deflate } from "node:zlib";
import { convertIndexedToRgb, decode } from "fast-png";
import { RunnerError } from "./errors.ts";

/** A 1-D resample as, per output pixel, the input pixels it reads and their weights (sum 1). */
interface Taps {
  index: Int32Array[];
  weight: Float64Array[];
}

function resampleTaps(src: number, dst: number): Taps {
  const index: Int32Array[] = [];
  const weight: Float64Array[] = [];
  const scale = src / dst;
  for (let o = 0; o < dst; o++) {
    if (dst >= src) {
      // Bilinear with half-pixel centres (PyTorch align_corners=False), edges clamped.
      const x = Math.min(Math.max((o + 0.5) * scale - 0.5, 0), src - 1);
      const x0 = Math.floor(x);
      const x1 = Math.min(x0 + 1, src - 1);
      index.push(Int32Array.of(x0, x1));
      weight.push(Float64Array.of(1 - (x - x0), x - x0));
    } else {
      // Area average: each output pixel covers [o·scale, (o+1)·scale) of the input.
      const a = o * scale;
      const b = (o + 1) * scale;
      const first = Math.floor(a);
      const last = Math.min(Math.ceil(b), src);
      const idx = new Int32Array(last - first);
      const w = new Float64Array(last - first);
      for (let i = first; i < last; i++) {
        idx[i - first] = i;
        w[i - first] = (Math.min(b, i + 1) - Math.max(a, i)) / scale;
      }
      index.push(idx);
      weight.push(w);
    }
  }
  return { index, weight };
}

/** Resamples a square (C, src, src) float tensor to (C, dst, dst), rows then columns. */
export function resizeSquare(
  chw: Float32Array,
  channels: number,
  src: number,
  dst: number,
): Float32Array {
  if (src === dst) return chw;
  const taps = resampleTaps(src, dst);
  const rows = new Float64Array(channels * dst * src);
  for (let c = 0; c < channels; c++) {
    for (let oy = 0; oy < dst; oy++) {
      const outRow = (c * dst + oy) * src;
      const idx = taps.index[oy];
      const w = taps.weight[oy];
      for (let k = 0; k < idx.length; k++) {
        const inRow = (c * src + idx[k]) * src;
        const wk = w[k];
        for (let x = 0; x < src; x++) rows[outRow + x] += wk * chw[inRow + x];
      }
    }
  }
  const out = new Float32Array(channels * dst * dst);
  for (let r = 0; r < channels * dst; r++) {
    const inRow = r * src;
    const outRow = r * dst;
    for (let ox = 0; ox < dst; ox++) {
      const idx = taps.index[ox];
      const w = taps.weight[ox];
      let acc = 0;
      for (let k = 0; k < idx.length; k++) acc += w[k] * rows[inRow + idx[k]];
      out[outRow + ox] = acc;
    }
  }
  return out;
}

/** (3, R, R) in [-1, 1] → R·R·3 interleaved RGB bytes. */
export function tensorToRgbBytes(chw: Float32Array, side: number): Uint8Array {
  const plane = side * side;
  const out = new Uint8Array(plane * 3);
  for (let c = 0; c < 3; c++) {
    for (let p = 0; p < plane; p++) {
      const v = Math.min(1, Math.max(-1, chw[c * plane + p]));
      out[p * 3 + c] = Math.round((v + 1) * 127.5);
    }
  }
  return out;
}

const PNG_SIGNATURE = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a);
const deflateAsync = promisify(deflate);

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  out.set(Buffer.from(type, "latin1"), 4);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

/**
 * 8-bit RGB PNG. Written here rather than with fast-png (still used to read uploads) because
 * the deflate then runs in node:zlib on the libuv thread pool: a 1024² image costs the
 * batcher's thread a few ms instead of ~0.5 s that would delay every batch behind it.
 * Each scanline uses the Up filter, which suits the smooth, upsampled images we produce.
 */
export async function encodeRgbPng(rgb: Uint8Array, side: number): Promise<Uint8Array> {
  const stride = side * 3;
  const filtered = new Uint8Array(side * (stride + 1));
  for (let y = 0; y < side; y++) {
    const row = y * (stride + 1);
    filtered[row] = y === 0 ? 0 : 2; // None for the first line, then Up
    for (let x = 0; x < stride; x++) {
      const v = rgb[y * stride + x];
      filtered[row + 1 + x] = y === 0 ? v : (v - rgb[(y - 1) * stride + x]) & 0xff;
    }
  }
  const header = new Uint8Array(13);
  const view = new DataView(header.buffer);
  view.setUint32(0, side);
  view.setUint32(4, side);
  header.set([8, 2, 0, 0, 0], 8); // depth 8, colour type RGB, deflate, adaptive filter, no interlace
  const idat = await deflateAsync(filtered, { level: 6 });
  const parts = [
    PNG_SIGNATURE,
    chunk("IHDR", header),
    chunk("IDAT", idat),
    chunk("IEND", new Uint8Array(0)),
  ];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** A decoded PNG as straight (not premultiplied) RGBA in [0, 1], row-major, 4 values a pixel. */
export interface RgbaImage {
  width: number;
  height: number;
  rgba: Float32Array;
}

/**
 * Any PNG (gray, gray+alpha, RGB, RGBA, palette; 8 or 16 bit) → RGBA in [0, 1]; an image
 * without alpha is opaque. `param` names the request field in the 400 for unreadable bytes.
 */
export function decodePngRgba(bytes: Uint8Array, param = "image_b64"): RgbaImage {
  let png: ReturnType<typeof decode>;
  try {
    png = decode(bytes);
  } catch (error) {
    throw new RunnerError(
      "bad_request",
      `${param} is not a readable PNG (${(error as Error).message})`,
      param,
    );
  }
  let data: ArrayLike<number> = png.data;
  let channels = png.channels;
  let max = png.depth === 16 ? 65_535 : (1 << png.depth) - 1;
  if (png.palette) {
    data = convertIndexedToRgb(png);
    channels = png.palette[0]?.length ?? 3;
    max = 255;
  }
  const hasAlpha = channels === 2 || channels === 4;
  const colour = channels >= 3;
  const pixels = png.width * png.height;
  const rgba = new Float32Array(pixels * 4);
  for (let p = 0; p < pixels; p++) {
    const base = p * channels;
    for (let c = 0; c < 3; c++) rgba[p * 4 + c] = data[base + (colour ? c : 0)] / max;
    rgba[p * 4 + 3] = hasAlpha ? data[base + channels - 1] / max : 1;
  }
  return { width: png.width, height: png.height, rgba };
}

/**
 * Any PNG → a (3, side, side) tensor in [-1, 1]. Transparent pixels are composited on white;
 * a non-square image is centre-cropped.
 */
export function decodePngToTensor(bytes: Uint8Array, side: number): Float32Array {
  const png = decodePngRgba(bytes);
  const crop = Math.min(png.width, png.height);
  const x0 = Math.floor((png.width - crop) / 2);
  const y0 = Math.floor((png.height - crop) / 2);
  const chw = new Float32Array(3 * crop * crop);
  const plane = crop * crop;
  for (let y = 0; y < crop; y++) {
    for (let x = 0; x < crop; x++) {
      const base = ((y + y0) * png.width + (x + x0)) * 4;
      const alpha = png.rgba[base + 3];
      for (let c = 0; c < 3; c++) {
        const onWhite = png.rgba[base + c] * alpha + (1 - alpha);
        chw[c * plane + y * crop + x] = onWhite * 2 - 1;
      }
    }
  }
  return resizeSquare(chw, 3, crop, side);
}
