// Contract 2 (docs/ARCHITECTURE.md): the cache key. Changing this format orphans every cached
// image, so golden vectors in cacheKey.test.ts pin it.
import { sha256Hex } from "./bytes.ts";

export const CACHE_KEY_VERSION = "unclip-cache/1";

/** Everything that changes the pixels of a job, resolved (no defaults left to apply). */
export type PixelParams = Record<string, string | number | boolean>;

export interface CacheKeyInput {
  /** `name@version` of the bundle (bundleIdOf). */
  bundle: string;
  /** What is rendered: "generation", "variation", "interpolation", … */
  kind: string;
  /** Token ids of each prompt under the bundle's tokenizer (truncated, unpadded). */
  tokenIds: ReadonlyArray<ReadonlyArray<number>>;
  /** sha256 of an input image, for variations and edits. */
  imageSha256?: string;
  /** sha256 of an edit's mask PNG; absent when the image's own alpha is the mask. */
  maskSha256?: string;
  params: PixelParams;
}

/**
 * sha256 over a canonical JSON array: version, bundle, kind, token ids, image hash and the
 * params sorted by name; an edit with a mask appends the mask hash (appended, not inserted,
 * so every key computed before masks existed stays the same). JSON of integers and finite numbers is canonical in JS, so the same
 * input always gives the same bytes. `n` is deliberately not a param: image i depends only
 * on (seed, i), so a request for more images extends the same key's objects.
 */
export async function cacheKey(input: CacheKeyInput): Promise<string> {
  const params = Object.keys(input.params)
    .sort()
    .map((name) => {
      const value = input.params[name];
      if (typeof value === "number" && !Number.isFinite(value)) {
        throw new Error(`cacheKey: param ${name} is not a finite number`);
      }
      return [name, value];
    });
  const canonical = JSON.stringify([
    CACHE_KEY_VERSION,
    input.bundle,
    input.kind,
    input.tokenIds,
    input.imageSha256 ?? null,
    params,
    ...(input.maskSha256 === undefined ? [] : [input.maskSha256]),
  ]);
  return sha256Hex(canonical);
}

/**
 * The seed used when a request names none: derived from the key of the same request without
 * a seed, so "no seed" is deterministic, cacheable, and equal to passing that seed.
 */
export async function defaultSeedFor(inputWithoutSeed: CacheKeyInput): Promise<number> {
  if ("seed" in inputWithoutSeed.params)
    throw new Error("defaultSeedFor: params already hold a seed");
  const key = await cacheKey(inputWithoutSeed);
  return Number.parseInt(key.slice(0, 8), 16);
}

/** The key of a job whose seed may be absent: fills the default seed, returns both. */
export async function resolveSeedAndKey(
  input: CacheKeyInput,
  seed: number | undefined,
): Promise<{ seed: number; key: string }> {
  const resolved = seed ?? (await defaultSeedFor(input));
  return {
    seed: resolved,
    key: await cacheKey({ ...input, params: { ...input.params, seed: resolved } }),
  };
}
