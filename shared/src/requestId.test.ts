import { describe, expect, it } from "vitest";
import { newRequestId, requestIdFrom, requestIdSchema } from "./requestId.ts";

describe("request ids", () => {
  it("makes ids that are well formed and differ every time", () => {
    const ids = new Set(Array.from({ length: 100 }, newRequestId));
    expect(ids.size).toBe(100);
    for (const id of ids) {
      expect(id).toMatch(/^req_[0-9a-f]{32}$/);
      expect(requestIdSchema.safeParse(id).success).toBe(true);
    }
  });

  it("keeps a well-formed client id as it is", () => {
    expect(requestIdFrom("trace-42:a.b_C")).toBe("trace-42:a.b_C");
    expect(requestIdFrom("x".repeat(128))).toBe("x".repeat(128));
  });

  it("replaces a missing, empty, oversized or unsafe client id with a new one", () => {
    for (const header of [null, undefined, "", "x".repeat(129), "a b", 'a"b', "a\nb", "é"]) {
      expect(requestIdFrom(header)).toMatch(/^req_[0-9a-f]{32}$/);
    }
  });
});
