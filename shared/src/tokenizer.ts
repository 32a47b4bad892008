// Tokenizer loading from a bundle's Hugging Face tokenizer.json, with the bundle's context
// length and one explicit truncation rule, shared by the edge (cache keys, content policy)
// and the runner (text encoder input). Plain JS: runs in Workers and Node alike.
import { Tokenizer } from "@huggingface/tokenizers";

export interface TokenizerOptions {
  contextLength: number;
  padId?: number;
}

export interface BundleTokenizer {
  readonly contextLength: number;
  readonly padId: number;
  /**
   * Token ids after truncation, without padding. Truncation rule (openai/CLIP's
   * `truncate=True`): when the encoding with special tokens is longer than the context, keep
   * its first L−1 ids and end with its last id, so the end-of-text token always survives.
   */
  ids(prompt: string): number[];
  /** `ids(prompt)` padded with `padId` to exactly `contextLength`, as the text encoder takes it. */
  inputIds(prompt: string): number[];
  /**
   * The prompt as the bundle's normalizer and pre-tokenizer split it, before the vocabulary
   * is applied: words outside the vocabulary stay themselves instead of becoming the unknown
   * token (the content policy checks these).
   */
  pieces(prompt: string): string[];
}

export function truncateIds(ids: readonly number[], contextLength: number): number[] {
  if (ids.length <= contextLength) return [...ids];
  return [...ids.slice(0, contextLength - 1), ids[ids.length - 1]];
}

export function loadTokenizer(tokenizerJson: unknown, options: TokenizerOptions): BundleTokenizer {
  if (typeof tokenizerJson !== "object" || tokenizerJson === null || !("model" in tokenizerJson)) {
    throw new Error(
      "tokenizer.json: expected a Hugging Face tokenizer object with a `model` field",
    );
  }
  const { contextLength } = options;
  const padId = options.padId ?? 0;
  if (!Number.isInteger(contextLength) || contextLength < 2) {
    throw new Error(`tokenizer: context length must be an integer ≥ 2 (found ${contextLength})`);
  }
  const tokenizer = new Tokenizer(tokenizerJson, {});
  // @huggingface/tokenizers 0.2 returns `undefined` for a WordLevel word outside the
  // vocabulary instead of the unk id; map it here so every id is a number.
  const unkToken = (tokenizerJson as { model: { unk_token?: string } }).model.unk_token;
  const unkId = unkToken === undefined ? undefined : tokenizer.token_to_id(unkToken);
  const ids = (prompt: string) => {
    const raw = tokenizer.encode(prompt, { add_special_tokens: true }).ids.map((id) => {
      if (id !== undefined) return id;
      if (unkId === undefined)
        throw new Error("tokenizer: unknown word and the model has no unk_token");
      return unkId;
    });
    return truncateIds(raw, contextLength);
  };
  return {
    contextLength,
    padId,
    ids,
    inputIds(prompt) {
      const out = ids(prompt);
      while (out.length < contextLength) out.push(padId);
      return out;
    },
    pieces(prompt) {
      const normalized = tokenizer.normalizer ? tokenizer.normalizer._call(prompt) : prompt;
      return tokenizer.pre_tokenizer
        ? tokenizer.pre_tokenizer._call(normalized)
        : normalized.split(/\s+/);
    },
  };
}
