import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type CacheKeyInput, cacheKey, defaultSeedFor, resolveSeedAndKey } from "./cacheKey.ts";
import wordLevel from "./fixtures/word-level.tokenizer.json" with { type: "json" };
import { loadTokenizer } from "./tokenizer.ts";

const tokenizer = loadTokenizer(wordLevel, { contextLength: 16 });

const base: CacheKeyInput = {
  bundle: "shapes@1",
  kind: "generation",
  tokenIds: [[2, 4, 5, 8, 3]],
  params: {
    size: "256x256",
    seed: 7,
    decoder_steps: 25,
    decoder_guidance_scale: 3,
    prior_steps: 25,
    prior_guidance_scale: 2,
  },
};

describe("cacheKey (Contract 2, docs/ARCHITECTURE.md)", () => {
  it("matches the golden vectors that pin its format", async () => {
    // A change here orphans every cached image in R2: bump CACHE_KEY_VERSION instead.
    // The values were computed independently with Python (json.dumps(separators=(",", ":"))
    // + hashlib.sha256), which is the spec for any other implementation.
    expect(await cacheKey(base)).toBe(
      "e2107c842f096f4795c4006e707841c699c4d9addc5a855a51933c6dfdb1ce4a",
    );
    expect(
      await cacheKey({ ...base, kind: "variation", tokenIds: [], imageSha256: "ab".repeat(32) }),
    ).toBe("a1ccdcb3a2a1ce17d9c2812b5bddf3cf1bdfb8b0d9dca92ba6fdc72afa2600da");
    expect(await defaultSeedFor({ ...base, params: { size: "256x256" } })).toBe(889893361);
  });

  it("matches the golden vectors of edits, with and without a mask", async () => {
    // Same Python recipe; an edit with a mask appends its hash after the params.
    const edit = { ...base, kind: "edit", imageSha256: "ab".repeat(32) };
    expect(await cacheKey(edit)).toBe(
      "c9d24047ae2b0d660969ea80b8ecf7f4e969a8a39e1e70410db69ecd1bd6aec3",
    );
    expect(await cacheKey({ ...edit, maskSha256: "cd".repeat(32) })).toBe(
      "78bfa3ef6a9bb29c31671bfc5fa09c6aca00cbb604dd7378f8d23a47314bf19e",
    );
  });

  it("is the same for prompts the tokenizer maps to the same ids", async () => {
    const key = (prompt: string) => cacheKey({ ...base, tokenIds: [tokenizer.ids(prompt)] });
    expect(await key("A Red  Circle")).toBe(await key("a red circle"));
    expect(await key("ａ red circle")).toBe(await key("a red circle"));
    expect(await key("a blue circle")).not.toBe(await key("a red circle"));
  });

  it("does not depend on the order params are given in", async () => {
    const reversed = Object.fromEntries(Object.entries(base.params).reverse());
    expect(await cacheKey({ ...base, params: reversed })).toBe(await cacheKey(base));
  });

  it("changes when any pixel-changing parameter changes", async () => {
    const reference = await cacheKey(base);
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...Object.keys(base.params)),
        fc.oneof(fc.integer(), fc.string(), fc.double({ noNaN: true, noDefaultInfinity: true })),
        async (name, value) => {
          fc.pre(value !== base.params[name]);
          const changed = await cacheKey({ ...base, params: { ...base.params, [name]: value } });
          expect(changed).not.toBe(reference);
        },
      ),
      { numRuns: 200 },
    );
  });

  it("changes with the bundle, the kind, the ids, the input image and the mask", async () => {
    const reference = await cacheKey(base);
    for (const other of [
      { ...base, bundle: "shapes@2" },
      { ...base, kind: "interpolation" },
      { ...base, tokenIds: [[2, 4, 5, 3]] },
      {
        ...base,
        tokenIds: [
          [2, 4],
          [5, 8, 3],
        ],
      },
      { ...base, imageSha256: "00".repeat(32) },
      { ...base, maskSha256: "00".repeat(32) },
    ]) {
      expect(await cacheKey(other)).not.toBe(reference);
    }
  });

  it("is a 64-character hex string for any input", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.string(),
        fc.array(fc.array(fc.nat(50_000), { maxLength: 20 }), { maxLength: 3 }),
        fc.dictionary(fc.string(), fc.oneof(fc.integer(), fc.string(), fc.boolean())),
        async (bundle, tokenIds, params) => {
          expect(await cacheKey({ bundle, kind: "generation", tokenIds, params })).toMatch(
            /^[0-9a-f]{64}$/,
          );
        },
      ),
      { numRuns: 100 },
    );
  });

  it("refuses NaN and infinite params instead of hashing them as null", async () => {
    await expect(cacheKey({ ...base, params: { seed: Number.NaN } })).rejects.toThrow(/seed/);
  });

  it("derives a default seed so that no seed equals passing that seed", async () => {
    const { seed: _seed, ...withoutSeed } = base.params;
    const input = { ...base, params: withoutSeed };
    const derived = await resolveSeedAndKey(input, undefined);
    expect(derived.seed).toBe(await defaultSeedFor(input));
    expect(derived.seed).toBeGreaterThanOrEqual(0);
    expect(derived.seed).toBeLessThanOrEqual(4_294_967_295);
    const explicit = await resolveSeedAndKey(input, derived.seed);
    expect(explicit.key).toBe(derived.key);
    expect((await resolveSeedAndKey(input, derived.seed + 1)).key).not.toBe(derived.key);
  });
});
