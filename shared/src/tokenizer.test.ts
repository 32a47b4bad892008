import fc from "fast-check";
import { describe, expect, it } from "vitest";
import clipBpe from "./fixtures/clip-bpe.tokenizer.json" with { type: "json" };
import wordLevel from "./fixtures/word-level.tokenizer.json" with { type: "json" };
import { loadTokenizer, truncateIds } from "./tokenizer.ts";

const words = loadTokenizer(wordLevel, { contextLength: 8 });

describe("bundle tokenizer (word-level, as training writes it)", () => {
  it("wraps the words in BOS/EOS and pads to the context length", () => {
    expect(words.ids("A red circle")).toEqual([2, 4, 5, 8, 3]);
    expect(words.inputIds("A red circle")).toEqual([2, 4, 5, 8, 3, 0, 0, 0]);
  });

  it("maps case, spacing and unicode width variants to the same ids", () => {
    const ids = words.ids("a red circle");
    expect(words.ids("  A   RED\tCircle ")).toEqual(ids);
    expect(words.ids("Ａ ｒｅｄ circle")).toEqual(ids);
  });

  it("maps a word outside the vocabulary to [UNK] instead of undefined", () => {
    expect(words.ids("purple circle")).toEqual([2, 1, 8, 3]);
  });

  it("truncates long prompts keeping the end-of-text token last", () => {
    const ids = words.ids("a red circle on the blue background in the top left");
    expect(ids).toHaveLength(8);
    expect(ids[0]).toBe(2);
    expect(ids[7]).toBe(3);
    expect(ids.slice(1, 7)).toEqual([4, 5, 8, 11, 18, 7]);
  });

  it("always yields exactly contextLength input ids for any text", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (text) => {
        const ids = words.inputIds(text);
        expect(ids).toHaveLength(8);
        expect(ids.every((id) => Number.isInteger(id) && id >= 0)).toBe(true);
      }),
    );
  });

  it("gives normalized pieces without special tokens for the content policy", () => {
    expect(words.pieces("A BOMB!")).toEqual(["a", "bomb", "!"]);
    expect(words.pieces("Ｎａｐａｌｍ  please")).toEqual(["napalm", "please"]);
  });

  it("refuses a context length below 2 and a file that is not a tokenizer", () => {
    expect(() => loadTokenizer(wordLevel, { contextLength: 1 })).toThrow(/context length/);
    expect(() => loadTokenizer({ hello: 1 }, { contextLength: 8 })).toThrow(/model/);
  });
});

describe("bundle tokenizer (CLIP-format BPE tokenizer.json)", () => {
  const clip = loadTokenizer(clipBpe, { contextLength: 5 });

  it("loads through the same code and adds CLIP's start/end tokens", () => {
    expect(clip.ids("Red apple")).toEqual([20, 9, 13, 21]);
    expect(clip.inputIds("Red apple")).toEqual([20, 9, 13, 21, 0]);
  });

  it("truncates like openai/CLIP: the last kept id is end-of-text", () => {
    expect(clip.ids("red red red red red red")).toEqual([20, 9, 9, 9, 21]);
  });
});

describe("truncateIds", () => {
  it("leaves short sequences alone and keeps the last id of long ones", () => {
    expect(truncateIds([1, 2, 3], 5)).toEqual([1, 2, 3]);
    expect(truncateIds([1, 2, 3, 4, 5, 6], 4)).toEqual([1, 2, 3, 6]);
  });
});
