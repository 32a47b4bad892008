import { describe, expect, it } from "vitest";
import { servedBundle } from "./bundle/index.ts";
import { enforceContentPolicy, findBlockedTerm, policyTokenizer } from "./contentPolicy.ts";
import { ApiError } from "./errors.ts";

const blocked = ["bomb", "gore", "blood bath"];
const tokenizer = policyTokenizer(servedBundle, blocked);

describe("content policy", () => {
  it("finds blocked terms in case, width and spacing variants", () => {
    for (const prompt of ["a bomb", "A  BOMB on a red circle", "ｂｏｍｂ", "a blood   bath"]) {
      expect(findBlockedTerm(prompt, blocked, tokenizer)).toBeDefined();
    }
  });

  it("does not block words outside the vocabulary just because they are unknown", () => {
    for (const prompt of ["a purple circle", "a zeppelin", "bombs away", "blood"]) {
      expect(findBlockedTerm(prompt, blocked, tokenizer)).toBeUndefined();
    }
  });

  it("leaves the bundle's tokenizer (and so every cache key) untouched", () => {
    const before = servedBundle.tokenizer.ids("a zeppelin bomb");
    policyTokenizer(servedBundle, ["zeppelin"]);
    expect(servedBundle.tokenizer.ids("a zeppelin bomb")).toEqual(before);
    expect(tokenizer.ids("a red circle")).toEqual(servedBundle.tokenizer.ids("a red circle"));
  });

  it("rejects with 400 content_policy_violation naming the field", () => {
    let error: unknown;
    try {
      enforceContentPolicy("a gore square", "target_prompt", blocked, servedBundle);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).body.error).toMatchObject({
      param: "target_prompt",
      code: "content_policy_violation",
    });
    expect(() => enforceContentPolicy("a gore square", "prompt", [], servedBundle)).not.toThrow();
  });
});
