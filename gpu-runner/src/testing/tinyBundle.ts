// The tiny test bundle (models/tiny-test, produced by training/) and its golden files.
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

export const TINY_BUNDLE_DIR = fileURLToPath(new URL("../../../models/tiny-test", import.meta.url));

// The bundle is committed; a checkout without it must fail the tests that need it, not skip
// them and report green.
if (!existsSync(`${TINY_BUNDLE_DIR}/manifest.json`)) {
  throw new Error(
    `${TINY_BUNDLE_DIR}/manifest.json is missing: the runner's tests need the tiny test bundle ` +
      "(committed in models/tiny-test; rebuild it with `training/build_bundle.sh shapes tiny tiny-test`).",
  );
}

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
