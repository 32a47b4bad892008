import { describe, expect, it } from "vitest";
import { completedEvent, partialImageEvent, sseOf, thinnedPartials } from "./events.ts";

describe("OpenAI image stream events", () => {
  const generation = { operation: "generation", size: "256x256", outputFormat: "webp" } as const;

  it("names generation and edit events as the SDK's types do", () => {
    expect(partialImageEvent(generation, "AAA", 1)).toMatchObject({
      type: "image_generation.partial_image",
      b64_json: "AAA",
      partial_image_index: 1,
      output_format: "webp",
      size: "256x256",
      background: "opaque",
    });
    expect(completedEvent({ ...generation, operation: "edit" }, "BBB")).toMatchObject({
      type: "image_edit.completed",
      b64_json: "BBB",
      usage: { total_tokens: 0 },
    });
  });

  it("writes each as one SSE event named by its type, errors as `error`", () => {
    expect(sseOf(completedEvent(generation, "B"))).toMatch(
      /^event: image_generation\.completed\ndata: \{.*"b64_json":"B".*\}\n\n$/,
    );
    const error = { error: { message: "x", type: "server_error", param: null, code: null } };
    expect(sseOf(error)).toBe(`event: error\ndata: ${JSON.stringify(error)}\n\n`);
  });
});

describe("thinning a flight's partials to a stream's own count", () => {
  it.each([
    [0, 3, []],
    [1, 3, [[1, 0]]], // the middle one: 1/2 of the schedule
    [
      2,
      3,
      [
        [0, 0],
        [2, 1],
      ],
    ], // 1/4 and 3/4, nearest 1/3 and 2/3
    [
      3,
      3,
      [
        [0, 0],
        [1, 1],
        [2, 2],
      ],
    ],
    [
      2,
      2,
      [
        [0, 0],
        [1, 1],
      ],
    ],
    [1, 2, [[1, 0]]], // 1/3 and 2/3 are as near to 1/2: the later, sharper one
    [3, 1, [[0, 0]]], // never more than the flight made
    [2, 0, []], // joined a flight that streams no partials
  ])(
    "%i wanted of %i produced → flight partial → stream index %j",
    (wanted, produced, expected) => {
      expect([...thinnedPartials(wanted, produced)]).toEqual(expected);
    },
  );
});
