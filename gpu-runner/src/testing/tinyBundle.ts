// The tiny test bundle (models/tiny-test, produced by training/) and its golden files.
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

export const TINY_BUNDLE_DIR = fileURLToPath(new URL("../../../models/tiny-test", import.meta.url));
export const hasTinyBundle = existsSync(`${TINY_BUNDLE_DIR}/manifest.json`);

export interface GoldenTensor {
  shape: number[];
  dtype: "float32" | "int64";
  data: number[];
}

export function readGolden<T>(name: string): T {
  return JSON.parse(readFileSync(`${TINY_BUNDLE_DIR}/golden/${name}`, "utf8")) as T;
}

export function goldenArray(t: GoldenTensor): Float32Array | BigInt64Array {
  return t.dtype === "int64"
    ? BigInt64Array.from(t.data, (v) => BigInt(v))
    : Float32Array.from(t.data);
}

/** Row `r` of a golden tensor whose first dimension is the batch. */
export function goldenRow(t: GoldenTensor, r: number): Float32Array {
  const size = t.data.length / t.shape[0];
  return Float32Array.from(t.data.slice(r * size, (r + 1) * size));
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Number.POSITIVE_INFINITY;
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}
