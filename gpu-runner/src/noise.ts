// Seeded Gaussian noise from a counter-based generator (Philox4x32-10, Salmon et al. 2011),
// keyed by (seed, image index, stage, step): a sample's noise is a pure function of those,
// so an image never depends on which other requests shared its batch or in which order.

const M0 = 0xd2511f53;
const M1 = 0xcd9e8d57;
const W0 = 0x9e3779b9;
const W1 = 0xbb67ae85;

/** Exact 32×32 → 64-bit product, as [hi, lo] unsigned 32-bit halves. */
function mulhilo(a: number, b: number): [number, number] {
  const lo = Math.imul(a, b) >>> 0;
  const aLo = a & 0xffff;
  const aHi = a >>> 16;
  const bLo = b & 0xffff;
  const bHi = b >>> 16;
  const t = aLo * bLo;
  const m1 = aHi * bLo + (t >>> 16);
  const m2 = aLo * bHi + (m1 & 0xffff);
  const hi = (aHi * bHi + Math.floor(m1 / 0x10000) + Math.floor(m2 / 0x10000)) >>> 0;
  return [hi, lo];
}

/** Philox4x32 with 10 rounds: four uint32 counter words and two key words → four uint32. */
export function philox4x32(
  counter: readonly [number, number, number, number],
  key: readonly [number, number],
): [number, number, number, number] {
  let [c0, c1, c2, c3] = counter.map((v) => v >>> 0);
  let k0 = key[0] >>> 0;
  let k1 = key[1] >>> 0;
  for (let round = 0; round < 10; round++) {
    const [hi0, lo0] = mulhilo(M0, c0);
    const [hi1, lo1] = mulhilo(M1, c2);
    c0 = (hi1 ^ c1 ^ k0) >>> 0;
    c1 = lo1;
    c2 = (hi0 ^ c3 ^ k1) >>> 0;
    c3 = lo0;
    k0 = (k0 + W0) >>> 0;
    k1 = (k1 + W1) >>> 0;
  }
  return [c0, c1, c2, c3];
}

/**
 * Where a noise tensor is used; each gets its own stream. Upsampler k uses `upsampler0 + k`;
 * `knownRegion + code` is the noise that re-noises an edit's kept pixels in stage `code`.
 */
export const NOISE_STAGE = { prior: 1, decoder: 2, upsampler0: 16, knownRegion: 64 } as const;

export interface NoiseKey {
  /** The request's seed (uint32). */
  seed: number;
  /** Image index inside the request. */
  index: number;
  /** A NOISE_STAGE code. */
  stage: number;
  /** 0 for the initial x_T, s + 1 for the noise of DDIM step s (η > 0). */
  step: number;
}

const TWO_PI = 2 * Math.PI;
const TWO_POW_32 = 2 ** 32;

/**
 * `length` standard normal float32 values for this key. Key words: (seed, stage); counter
 * words: (block, step, index, 0). Box–Muller on each pair of uint32 (u1 ∈ (0, 1], no log 0).
 */
export function gaussianNoise(key: NoiseKey, length: number): Float32Array {
  const out = new Float32Array(length);
  const k: [number, number] = [key.seed >>> 0, key.stage >>> 0];
  for (let block = 0, i = 0; i < length; block++) {
    const r = philox4x32([block, key.step, key.index, 0], k);
    for (let p = 0; p < 4 && i < length; p += 2) {
      const u1 = (r[p] + 1) / TWO_POW_32;
      const u2 = r[p + 1] / TWO_POW_32;
      const radius = Math.sqrt(-2 * Math.log(u1));
      out[i++] = radius * Math.cos(TWO_PI * u2);
      if (i < length) out[i++] = radius * Math.sin(TWO_PI * u2);
    }
  }
  return out;
}
