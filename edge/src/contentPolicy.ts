// The content policy: blocked terms (BLOCKED_TERMS) matched on the bundle tokenizer's
// normalized pieces, so case, width and spacing variants of a term are caught alike. Pieces
// are taken before the vocabulary is applied, so a blocked word the model never saw is still
// itself (not the unknown token that every other unseen word also becomes).
import type { BundleTokenizer } from "@unclip/shared";
import type { ServedBundle } from "./bundle/index.ts";
import { ApiError } from "./errors.ts";

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
  bundle: Pick<ServedBundle, "tokenizer">,
): void {
  if (blockedTerms.length === 0) return;
  if (findBlockedTerm(prompt, blockedTerms, bundle.tokenizer) !== undefined) {
    throw new ApiError(
      400,
      `Your request was rejected by the content policy: '${param}' contains a blocked term.`,
      param,
      "content_policy_violation",
    );
  }
}
