// The runner's one error type: it knows its HTTP status and OpenAI error body, so routes throw
// and a single handler answers; setup failures (bad bundle, bad config) use it too.
import {
  type ErrorStatus,
  type OpenAiError,
  openAiError,
  openAiErrorFromZod,
} from "@unclip/shared";
import type { z } from "zod";

export type RunnerErrorKind =
  | "bad_config"
  | "bad_bundle"
  | "bad_request"
  | "unauthorized"
  | "bundle_mismatch"
  | "queue_full"
  | "draining"
  | "deadline"
  | "cancelled"
  | "inference";

const statusOf: Record<RunnerErrorKind, ErrorStatus> = {
  bad_config: 500,
  bad_bundle: 500,
  bad_request: 400,
  unauthorized: 401,
  bundle_mismatch: 409,
  queue_full: 503,
  draining: 503,
  deadline: 504,
  // 499 is not an OpenAI status; nobody reads the answer to a request whose client left.
  cancelled: 400,
  inference: 500,
};

export class RunnerError extends Error {
  readonly status: ErrorStatus;
  /** The OpenAI error `code`: the kind, unless a more precise one is known. */
  code: string;
  constructor(
    readonly kind: RunnerErrorKind,
    message: string,
    readonly param: string | null = null,
    /** Seconds, for `retry-after` on 503. */
    readonly retryAfterS?: number,
  ) {
    super(message);
    this.name = "RunnerError";
    this.status = statusOf[kind];
    this.code = kind;
  }

  toOpenAi(): OpenAiError {
    return openAiError(this.status, this.message, this.param, this.code);
  }

  /** A request body that fails its protocol schema, worded as the edge words the same failure. */
  static fromZod(error: z.ZodError): RunnerError {
    const { message, param, code } = openAiErrorFromZod(error).error;
    const refusal = new RunnerError("bad_request", message, param);
    if (code !== null) refusal.code = code;
    return refusal;
  }
}

/** Any thrown value as a RunnerError; unknown failures become a 500 without internals. */
export function asRunnerError(error: unknown): RunnerError {
  if (error instanceof RunnerError) return error;
  return new RunnerError("inference", "The image could not be generated (internal error).");
}
