// Request bodies: the content type is checked (400 unsupported_content_type, as OpenAI answers
// it) and the body is read once under a byte limit (413), checking both the declared
// content-length and the bytes actually streamed; a body that breaks off is the client's
// error (400).
//
// Ours, not hono/body-limit (which the runner uses), because hono/body-limit cannot give
// these answers: it trusts a present content-length and then never counts the streamed
// bytes; a body that breaks off mid-way while it reads escapes as an unknown error (a 500
// here, where the client's fault is a 400 incomplete_request_body); and it buffers the body
// only to hand it on as a new stream, which would then be read a second time here.
import type { MiddlewareHandler } from "hono";
import type { z } from "zod";
import { ApiError } from "../../errors.ts";
import type { AppEnv } from "../../types.ts";

/** JSON bodies: a 1000-character prompt and a few numbers fit many times over. */
export const MAX_JSON_BODY_BYTES = 64 * 1024;

export async function readLimited(
  body: ReadableStream<Uint8Array> | null,
  declaredLength: string | undefined,
  maxBytes: number,
): Promise<Uint8Array> {
  const tooLarge = () =>
    new ApiError(
      413,
      `Request body too large: the limit is ${maxBytes} bytes.`,
      null,
      "request_too_large",
    );
  if (declaredLength !== undefined && Number(declaredLength) > maxBytes) throw tooLarge();
  if (body === null) return new Uint8Array(0);
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    let next: ReadableStreamReadResult<Uint8Array>;
    try {
      next = await reader.read();
    } catch {
      // The client left or broke the body's framing mid-way: its fault, and likely no one
      // is listening for the answer.
      throw new ApiError(
        400,
        "The request body could not be read to its end.",
        null,
        "incomplete_request_body",
      );
    }
    const { done, value } = next;
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel();
      throw tooLarge();
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return bytes;
}

/** Requires `mediaType` and reads the body (≤ maxBytes) into `c.var.bodyBytes`. */
export function body(mediaType: string, maxBytes: number): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const contentType = c.req.header("content-type") ?? "";
    const actual = contentType.split(";")[0].trim().toLowerCase();
    if (actual !== mediaType) {
      throw new ApiError(
        400,
        `Unsupported content type ${actual ? `'${actual}'` : "(none)"}: this endpoint takes ${mediaType}.`,
        null,
        "unsupported_content_type",
      );
    }
    c.set("bodyBytes", await readLimited(c.req.raw.body, c.req.header("content-length"), maxBytes));
    await next();
  };
}

/** Parses the JSON body read by `body()` with a shared schema; errors name the field. */
export function parseJsonBody<S extends z.ZodType>(bytes: Uint8Array, schema: S): z.output<S> {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes));
  } catch {
    throw new ApiError(
      400,
      "We could not parse the JSON body of your request. The body must be valid JSON.",
      null,
      "invalid_json",
    );
  }
  const result = schema.safeParse(json);
  if (!result.success) throw ApiError.fromZod(result.error);
  return result.data;
}
