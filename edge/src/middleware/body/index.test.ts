import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { errorOf, generate, ORIGIN } from "../../../test/helpers.ts";
import { ApiError } from "../../errors.ts";
import { MAX_JSON_BODY_BYTES, readLimited } from "./index.ts";

function streamOf(chunks: number[]): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      for (const size of chunks) controller.enqueue(new Uint8Array(size));
      controller.close();
    },
  });
}

describe("readLimited", () => {
  it("reads a body under the limit", async () => {
    expect((await readLimited(streamOf([3, 4]), "7", 10)).byteLength).toBe(7);
  });

  it("refuses a declared content-length over the limit without reading", async () => {
    const error = await readLimited(streamOf([1]), "11", 10).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).status).toBe(413);
  });

  it("answers 400 when the body breaks off before its end", async () => {
    const broken = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new Uint8Array(3));
        controller.error(new Error("Network connection lost."));
      },
    });
    const error = await readLimited(broken, "100", 1000).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).status).toBe(400);
    expect((error as ApiError).code).toBe("incomplete_request_body");
  });

  it("counts the streamed bytes too, whatever content-length claimed", async () => {
    for (const declared of ["5", undefined]) {
      const error = await readLimited(streamOf([6, 6]), declared, 10).catch((e: unknown) => e);
      expect((error as ApiError).status).toBe(413);
    }
  });
});

describe("bodies on the API", () => {
  it("answers 413 for a JSON body over the limit", async () => {
    const res = await generate({ prompt: "x".repeat(MAX_JSON_BODY_BYTES) });
    expect(res.status).toBe(413);
    expect((await errorOf(res)).type).toBe("invalid_request_error");
  });

  it("answers 413 for a chunked body with no content-length that grows past the limit", async () => {
    const res = await SELF.fetch(`${ORIGIN}/v1/images/generations`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: "Bearer sk-local-dev" },
      body: streamOf([40_000, 40_000]),
    });
    expect(res.status).toBe(413);
  });

  it("answers 400 unsupported_content_type for a content type the endpoint does not take, as OpenAI does", async () => {
    for (const contentType of ["text/plain", "application/x-www-form-urlencoded", ""]) {
      const res = await SELF.fetch(`${ORIGIN}/v1/images/generations`, {
        method: "POST",
        headers: { "content-type": contentType, authorization: "Bearer sk-local-dev" },
        body: '{"prompt":"a red circle"}',
      });
      expect(res.status).toBe(400);
      expect((await errorOf(res)).code).toBe("unsupported_content_type");
    }
  });
});
