// Edits (inpainting) by masked sampling: at every step of the decoder and the upsamplers the
// kept pixels are put back as the input image noised to that step's level, so the network
// only invents the masked area and blends it into what surrounds it (RePaint, Lugmayr et al.
// 2022, eq. 8, without its resampling loops; GLIDE, Nichol et al. 2021, §4). The last step
// has ᾱ = 1, so the kept region ends as the input itself; compositeKept then restores the
// kept pixels exactly at the output size.
import { RunnerError } from "../errors.ts";
import { gaussianNoise, type NoiseKey } from "../noise.ts";
import { decodePngRgba, resizeSquare } from "../png.ts";

/** An edit's input at its own resolution. */
export interface EditInput {
  side: number;
  /** (3, side, side) in [-1, 1]; transparent pixels composited on white (they are redrawn). */
  pixels: Float32Array;
  /** (side·side): 1 where the pixel is kept, 0 where it is redrawn (fully transparent mask). */
  keep: Float32Array;
}

/** The input resampled to one stage's resolution; `keep` is soft (area average) at the edge. */
export interface KnownRegion {
  side: number;
  pixels: Float32Array;
  keep: Float32Array;
}

/**
 * The image and the mask PNGs → the pixels and what to keep. The mask's fully transparent
 * pixels (alpha 0) mark the area to redraw; without a mask the image's own alpha does.
 */
export function editInputFrom(imagePng: Uint8Array, maskPng?: Uint8Array): EditInput {
  const image = decodePngRgba(imagePng, "image");
  if (image.width !== image.height) {
    throw new RunnerError(
      "bad_request",
      `Invalid 'image': must be square (found ${image.width}×${image.height})`,
      "image",
    );
  }
  const side = image.width;
  const plane = side * side;
  let alphaSource = image;
  if (maskPng) {
    const mask = decodePngRgba(maskPng, "mask");
    if (mask.width !== side || mask.height !== side) {
      throw new RunnerError(
        "bad_request",
        `Invalid 'mask': must be the image's size ${side}×${side} (found ${mask.width}×${mask.height})`,
        "mask",
      );
    }
    alphaSource = mask;
  }
  const pixels = new Float32Array(3 * plane);
  const keep = new Float32Array(plane);
  let redrawn = 0;
  for (let p = 0; p < plane; p++) {
    const alpha = image.rgba[p * 4 + 3];
    for (let c = 0; c < 3; c++) {
      pixels[c * plane + p] = (image.rgba[p * 4 + c] * alpha + (1 - alpha)) * 2 - 1;
    }
    keep[p] = alphaSource.rgba[p * 4 + 3] === 0 ? 0 : 1;
    redrawn += 1 - keep[p];
  }
  if (redrawn === 0) {
    const param = maskPng ? "mask" : "image";
    throw new RunnerError(
      "bad_request",
      maskPng
        ? "Invalid 'mask': it has no fully transparent pixel, so there is nothing to redraw"
        : "Invalid 'image': it has no fully transparent pixel; send a mask or an image with transparency",
      param,
    );
  }
  return { side, pixels, keep };
}

export function knownRegionAt(input: EditInput, side: number): KnownRegion {
  return {
    side,
    pixels: resizeSquare(input.pixels, 3, input.side, side),
    keep: resizeSquare(input.keep, 1, input.side, side),
  };
}

/**
 * The `constrain` hook of a DiffusionSample: x ← k·(√ᾱ·x₀ + √(1−ᾱ)·ε) + (1−k)·x, with ε seeded
 * per (image, stage, step) so an edit is as reproducible as a generation.
 */
export function maskedSampling(
  known: KnownRegion,
  noise: Omit<NoiseKey, "step">,
): (x: Float32Array, alphaBar: number, step: number) => Float32Array {
  const plane = known.side * known.side;
  return (x, alphaBar, step) => {
    if (x.length !== 3 * plane) {
      throw new Error(`masked sampling: x has ${x.length} values, expected ${3 * plane}`);
    }
    const a = Math.sqrt(alphaBar);
    const s = Math.sqrt(1 - alphaBar);
    const eps = s > 0 ? gaussianNoise({ ...noise, step }, x.length) : undefined;
    const out = new Float32Array(x.length);
    for (let i = 0; i < x.length; i++) {
      const k = known.keep[i % plane];
      const noisedKnown = a * known.pixels[i] + (eps ? s * eps[i] : 0);
      out[i] = k * noisedKnown + (1 - k) * x[i];
    }
    return out;
  };
}

/**
 * The generated (3, side, side) image with every kept pixel replaced by the input's. At the
 * input's own size that is exact; at another size a pixel is kept only if all the input pixels
 * it covers were kept, so the redrawn area never shrinks.
 */
export function compositeKept(
  generated: Float32Array,
  input: EditInput,
  side: number,
): Float32Array {
  const known = knownRegionAt(input, side);
  const plane = side * side;
  const out = Float32Array.from(generated);
  for (let p = 0; p < plane; p++) {
    if (known.keep[p] < 1 - 1e-6) continue;
    for (let c = 0; c < 3; c++) out[c * plane + p] = known.pixels[c * plane + p];
  }
  return out;
}
