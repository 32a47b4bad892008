// Pixels in and out: [-1, 1] float CHW tensors ↔ 8-bit RGB PNG, and the one resampler used for
// both directions (bilinear up, area average down), separable over a precomputed weight matrix.
import { convertIndexedToRgb, decode, encode } from "fast-png";
import { RunnerError } from "./errors.ts";

/** (dst × src) weights of a 1-D resample; each row sums to 1. */
function resampleWeights(src: number, dst: number): Float64Array {
  const w = new Float64Array(dst * src);
  const scale = src / dst;
  for (let o = 0; o < dst; o++) {
    if (dst >= src) {
      // Bilinear with half-pixel centres (PyTorch align_corners=False), edges clamped.
      const x = Math.min(Math.max((o + 0.5) * scale - 0.5, 0), src - 1);
      const x0 = Math.floor(x);
      const x1 = Math.min(x0 + 1, src - 1);
      w[o * src + x0] += 1 - (x - x0);
      w[o * src + x1] += x - x0;
    } else {
      // Area average: each output pixel covers [o·scale, (o+1)·scale) of the input.
      const a = o * scale;
      const b = (o + 1) * scale;
      for (let i = Math.floor(a); i < Math.ceil(b); i++) {
        w[o * src + i] = (Math.min(b, i + 1) - Math.max(a, i)) / scale;
      }
    }
  }
  return w;
}

/** Resamples a square (C, src, src) float tensor to (C, dst, dst). */
export function resizeSquare(
  chw: Float32Array,
  channels: number,
  src: number,
  dst: number,
): Float32Array {
  if (src === dst) return chw;
  const w = resampleWeights(src, dst);
  const rows = new Float64Array(channels * dst * src); // resample along y first
  for (let c = 0; c < channels; c++) {
    for (let oy = 0; oy < dst; oy++) {
      for (let iy = 0; iy < src; iy++) {
        const wy = w[oy * src + iy];
        if (wy === 0) continue;
        const inRow = (c * src + iy) * src;
        const outRow = (c * dst + oy) * src;
        for (let x = 0; x < src; x++) rows[outRow + x] += wy * chw[inRow + x];
      }
    }
  }
  const out = new Float32Array(channels * dst * dst);
  for (let r = 0; r < channels * dst; r++) {
    for (let ox = 0; ox < dst; ox++) {
      let acc = 0;
      for (let ix = 0; ix < src; ix++) acc += w[ox * src + ix] * rows[r * src + ix];
      out[r * dst + ox] = acc;
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

export function encodeRgbPng(rgb: Uint8Array, side: number): Uint8Array {
  return encode({ width: side, height: side, data: rgb, channels: 3, depth: 8 });
}

/**
 * Any PNG (gray, gray+alpha, RGB, RGBA, palette; 8 or 16 bit) → a (3, side, side) tensor in
 * [-1, 1]. Transparent pixels are composited on white; a non-square image is centre-cropped.
 */
export function decodePngToTensor(bytes: Uint8Array, side: number): Float32Array {
  let png: ReturnType<typeof decode>;
  try {
    png = decode(bytes);
  } catch (error) {
    throw new RunnerError(
      "bad_request",
      `image_b64 is not a readable PNG (${(error as Error).message})`,
      "image_b64",
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
  const crop = Math.min(png.width, png.height);
  const x0 = Math.floor((png.width - crop) / 2);
  const y0 = Math.floor((png.height - crop) / 2);
  const chw = new Float32Array(3 * crop * crop);
  const plane = crop * crop;
  for (let y = 0; y < crop; y++) {
    for (let x = 0; x < crop; x++) {
      const base = ((y + y0) * png.width + (x + x0)) * channels;
      const alpha = hasAlpha ? data[base + channels - 1] / max : 1;
      for (let c = 0; c < 3; c++) {
        const v = data[base + (colour ? c : 0)] / max;
        const onWhite = v * alpha + (1 - alpha);
        chw[c * plane + y * crop + x] = onWhite * 2 - 1;
      }
    }
  }
  return resizeSquare(chw, 3, crop, side);
}
