import { describe, expect, it } from "vitest";
import { servedBundle } from "./bundle/index.ts";
import { enforceContentPolicy, findBlockedTerm } from "./contentPolicy.ts";
import { ApiError } from "./errors.ts";

const blocked = ["bomb", "gore", "blood bath"];
const tokenizer = servedBundle.tokenizer;

describe("content policy", () => {
  it("finds blocked terms in case, width and spacing variants", () => {
    for (const prompt of ["a bomb", "A  BOMB on a red circle", "ｂｏｍｂ", "a blood   bath"]) {
      expect(findBlockedTerm(prompt, blocked, tokenizer)).toBeDefined();
    }
  });

  it("does not block words outside the vocabulary just because they are unknown", () => {
    for (const prompt of [
      "a purple circle",
      "a zeppelin",
      "bombs away",
      "blood",
      "a zeppelin in a bombshell",
    ]) {
      expect(findBlockedTerm(prompt, blocked, tokenizer)).toBeUndefined();
    }
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
