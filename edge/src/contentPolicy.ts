// The content policy: blocked terms (BLOCKED_TERMS) matched on the bundle tokenizer's
// normalized pieces, so case, width and spacing variants of a term are caught alike.
//
// A word-level vocabulary maps every word it lacks to its unknown token, so a blocked term
// outside the vocabulary would match *every* unknown word (and hide the term itself). The
// policy therefore reads prompts with a copy of the bundle tokenizer whose vocabulary also
// holds the blocked words: normalization and splitting stay the bundle's own.
import { type BundleTokenizer, loadTokenizer } from "@unclip/shared";
import type { ServedBundle } from "./bundle/index.ts";
import { ApiError } from "./errors.ts";

interface WordLevelJson {
  model: { type: string; vocab: Record<string, number>; unk_token?: string };
}

function isWordLevel(json: unknown): json is WordLevelJson {
  const model = (json as { model?: { type?: unknown; vocab?: unknown } }).model;
  return model?.type === "WordLevel" && typeof model.vocab === "object" && model.vocab !== null;
}

/** The bundle tokenizer, with the blocked words added to a word-level vocabulary. */
export function policyTokenizer(
  bundle: Pick<ServedBundle, "tokenizer" | "tokenizerJson">,
  blockedTerms: readonly string[],
): BundleTokenizer {
  if (!isWordLevel(bundle.tokenizerJson)) return bundle.tokenizer;
  const json = structuredClone(bundle.tokenizerJson);
  let nextId = Math.max(...Object.values(json.model.vocab)) + 1;
  for (const term of blockedTerms) {
    for (const word of term.normalize("NFKC").toLowerCase().split(/\s+/)) {
      if (word && !(word in json.model.vocab)) json.model.vocab[word] = nextId++;
    }
  }
  return loadTokenizer(json, { contextLength: bundle.tokenizer.contextLength });
}

const policyTokenizers = new Map<string, BundleTokenizer>();

function cachedPolicyTokenizer(bundle: ServedBundle, blockedTerms: readonly string[]) {
  const cacheKey = `${bundle.id}\u0000${blockedTerms.join("\u0000")}`;
  let tokenizer = policyTokenizers.get(cacheKey);
  if (!tokenizer) {
    tokenizer = policyTokenizer(bundle, blockedTerms);
    policyTokenizers.set(cacheKey, tokenizer);
  }
  return tokenizer;
}

/** The first blocked term whose pieces appear contiguously in the prompt's pieces. */
export function findBlockedTerm(
  prompt: string,
  blockedTerms: readonly string[],
  tokenizer: BundleTokenizer,
): string | undefined {
  const pieces = tokenizer.pieces(prompt);
  for (const term of blockedTerms) {
    const needle = tokenizer.pieces(term);
    if (needle.length === 0) continue;
    for (let start = 0; start + needle.length <= pieces.length; start++) {
      if (needle.every((piece, i) => pieces[start + i] === piece)) return term;
    }
  }
  return undefined;
}

export function enforceContentPolicy(
  prompt: string,
  param: string,
  blockedTerms: readonly string[],
  bundle: ServedBundle,
): void {
  if (blockedTerms.length === 0) return;
  const tokenizer = cachedPolicyTokenizer(bundle, blockedTerms);
  if (findBlockedTerm(prompt, blockedTerms, tokenizer) !== undefined) {
    throw new ApiError(
      400,
      `Your request was rejected by the content policy: '${param}' contains a blocked term.`,
      param,
      "content_policy_violation",
    );
  }
}
