// The one error type of the edge: it knows its HTTP status and the OpenAI error object it
// becomes. `onError` turns anything thrown into that object, never an HTML page or a stack.
import {
  type ErrorStatus,
  errorTypeForStatus,
  type OpenAiError,
  openAiError,
  openAiErrorFromZod,
} from "@unclip/shared";
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { z } from "zod";
import { logEvent } from "./observability/log.ts";

export class ApiError extends Error {
  readonly body: OpenAiError;
  constructor(
    readonly status: ErrorStatus,
    message: string,
    readonly param: string | null = null,
    readonly code: string | null = null,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = "ApiError";
    this.body = openAiError(status, message, param, code);
  }

  static fromZod(error: z.ZodError): ApiError {
    const { message, param, code } = openAiErrorFromZod(error).error;
    return new ApiError(400, message, param, code);
  }

  /** An error the pool answered with, passed on under the status the edge chose. */
  static fromBody(status: ErrorStatus, body: OpenAiError, headers: Record<string, string> = {}) {
    const { message, param, code } = body.error;
    return new ApiError(status, message, param, code, headers);
  }

  /** For places outside Hono (Durable Object fetch handlers). */
  toResponse(): Response {
    return new Response(JSON.stringify(this.body), {
      status: this.status,
      headers: { "content-type": "application/json; charset=utf-8", ...this.headers },
    });
  }

  /** Plain data that survives Durable Object RPC (class instances do not). */
  toJSON(): SerializedApiError {
    return { status: this.status, body: this.body, headers: this.headers };
  }

  static fromJSON(data: SerializedApiError): ApiError {
    return ApiError.fromBody(data.status, data.body, data.headers);
  }
}

export interface SerializedApiError {
  status: ErrorStatus;
  body: OpenAiError;
  headers: Record<string, string>;
}

/** ApiError as is; Hono's HTTPException (thrown by its own helpers) as the same object. */
export function asApiError(error: unknown): ApiError | undefined {
  if (error instanceof ApiError) return error;
  if (error instanceof HTTPException) {
    const status = (error.status in errorTypeForStatus ? error.status : 400) as ErrorStatus;
    return new ApiError(status, error.message || "Bad request");
  }
  return undefined;
}

export function errorResponse(error: unknown, c: Context): Response {
  let known = asApiError(error);
  if (!known) {
    // Unknown failures are logged with their stack here and never sent to the client.
    logEvent("error", "unhandled error", { error });
    known = new ApiError(
      500,
      "The server had an error while processing your request.",
      null,
      "internal_error",
    );
  }
  for (const [name, value] of Object.entries(known.headers)) c.header(name, value);
  // For the request's log line and data point (observability/middleware.ts).
  c.set("errorCode", known.body.error.code ?? known.body.error.type);
  return c.json(known.body, known.status);
}
