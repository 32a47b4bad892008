// The GPU pool client (Contract 3, docs/ARCHITECTURE.md): signed requests spread over the runners of POOL_URL, one
// deadline for the whole call, retries with jitter on connection failures and 503s (honouring
// retry-after), and a clear 503 + retry-after to the client when the pool cannot answer.
// It speaks the current protocol version, and the previous one to a runner that answers 404
// to the current version's path: a runner not yet upgraded during a rolling deploy.
import {
  type ErrorStatus,
  type Operation,
  openAiErrorSchema,
  type PoolPartialImage,
  type PoolProgressEvent,
  type PoolResponse,
  PROTOCOL_VERSIONS,
  poolPartialImageSchema,
  poolPathOf,
  poolProgressEventSchema,
  poolResponseSchema,
  signRequest,
} from "@unclip/shared";
import { configOf } from "../config.ts";
import { ApiError } from "../errors.ts";
import { parseServerSentEvents } from "../http/sse.ts";
import { logEvent } from "../observability/log.ts";
import type { PoolPayload } from "./wire.ts";

export interface PoolCallOptions {
  /** Ask the runner for server-sent progress events and report each one here. */
  onProgress?: (event: PoolProgressEvent) => void;
  /** Told which runner (its POOL_URL entry) gave the answer. */
  onAnswer?: (runner: string) => void;
  /**
   * Streaming: the payload's `partial_images`, each as the runner sends it. After a retry on
   * another runner they start again from index 0; the caller drops what it already passed on.
   */
  onPartial?: (partial: PoolPartialImage) => void;
  /** Clock and sleep, replaceable in tests of the retry policy. */
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

/** Seconds a client is told to wait when the pool is unavailable and said nothing better. */
const DEFAULT_RETRY_AFTER_S = 5;
const BACKOFF_BASE_MS = 100;
const BACKOFF_CAP_MS = 2_000;

const sleepFor = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Full jitter (AWS architecture blog): uniform in [0, min(cap, base·2^attempt)]. */
export function backoffMs(attempt: number, random: () => number = Math.random): number {
  return random() * Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** attempt);
}

/** `retry-after` in seconds or as an HTTP date, in ms; undefined when absent or unreadable. */
export function retryAfterMs(header: string | null, now: number): number | undefined {
  if (!header) return undefined;
  if (/^\d+(\.\d+)?$/.test(header.trim())) return Number(header) * 1000;
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

class RetryableFailure {
  constructor(
    readonly reason: string,
    readonly retryAfterMs?: number,
  ) {}
}

/** The runner has no route for the path: it speaks an older protocol version. */
class UnknownPath extends RetryableFailure {}

function unavailable(message: string, retryAfterS: number): ApiError {
  return new ApiError(503, message, null, "pool_unavailable", {
    "retry-after": String(Math.max(1, Math.ceil(retryAfterS))),
  });
}

export async function callPool(
  operation: Operation,
  payload: PoolPayload,
  env: Env,
  options: PoolCallOptions = {},
): Promise<PoolResponse> {
  const config = configOf(env);
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? sleepFor;
  const deadline = now() + config.POOL_TIMEOUT_MS;
  const body = JSON.stringify({ ...payload, deadline });
  const runners = config.POOL_URL;
  const first = Math.floor(Math.random() * runners.length);
  let lastFailure = "no attempt was made";
  let suggestedRetryMs: number | undefined;

  // A runner that answered 503 + retry-after is not asked again before that time.
  const notBefore = new Map<string, number>();
  for (let attempt = 0; attempt < config.POOL_MAX_ATTEMPTS; attempt++) {
    const runner = runners[(first + attempt) % runners.length].replace(/\/+$/, "");
    if (attempt > 0) {
      const wait = Math.max(backoffMs(attempt - 1), (notBefore.get(runner) ?? 0) - now());
      if (now() + wait >= deadline) break;
      await sleep(wait);
    }
    const remaining = deadline - now();
    if (remaining <= 0) break;
    let outcome: PoolResponse | RetryableFailure = new UnknownPath("no version was tried");
    for (const version of PROTOCOL_VERSIONS) {
      const path = poolPathOf(operation, version);
      const timeoutMs = Math.max(1, deadline - now());
      outcome = await attemptOnce(runner, path, body, timeoutMs, config.POOL_SECRET, options);
      if (!(outcome instanceof UnknownPath)) break;
    }
    if (!(outcome instanceof RetryableFailure)) {
      options.onAnswer?.(runner);
      return outcome;
    }
    lastFailure = outcome.reason;
    if (outcome.retryAfterMs !== undefined) {
      suggestedRetryMs = outcome.retryAfterMs;
      notBefore.set(runner, now() + outcome.retryAfterMs);
    }
  }
  const timedOut = now() >= deadline;
  throw unavailable(
    timedOut
      ? `The image pool did not answer within ${config.POOL_TIMEOUT_MS} ms (${lastFailure}). Please retry.`
      : `The image pool is unavailable (${lastFailure}). Please retry.`,
    (suggestedRetryMs ?? DEFAULT_RETRY_AFTER_S * 1000) / 1000,
  );
}

async function attemptOnce(
  runner: string,
  path: string,
  body: string,
  timeoutMs: number,
  secret: string,
  options: PoolCallOptions,
): Promise<PoolResponse | RetryableFailure> {
  const signal = AbortSignal.timeout(timeoutMs);
  let response: Response;
  try {
    response = await fetch(`${runner}${path}`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        accept: options.onProgress || options.onPartial ? "text/event-stream" : "application/json",
        ...(await signRequest(secret, { method: "POST", path, body })),
      },
      body,
      signal,
    });
  } catch (error) {
    return new RetryableFailure(
      signal.aborted
        ? `timed out after ${timeoutMs} ms`
        : `cannot reach ${runner}: ${String(error)}`,
    );
  }
  try {
    if (response.ok) {
      const contentType = response.headers.get("content-type") ?? "";
      if (contentType.startsWith("text/event-stream") && response.body) {
        return await readEventStream(response.body, options);
      }
      return parsePoolResponse(await response.json());
    }
    return await failureOf(response, runner);
  } catch (error) {
    if (error instanceof ApiError) throw error;
    return new RetryableFailure(
      signal.aborted
        ? `timed out after ${timeoutMs} ms`
        : `${runner} broke off its answer: ${String(error)}`,
    );
  }
}

function parsePoolResponse(json: unknown): PoolResponse {
  const parsed = poolResponseSchema.safeParse(json);
  if (!parsed.success) {
    throw new ApiError(502, "The image pool sent a malformed answer.", null, "bad_pool_response");
  }
  return parsed.data;
}

async function failureOf(response: Response, runner: string): Promise<RetryableFailure> {
  const text = await response.text().catch(() => "");
  let detail = text.slice(0, 200);
  const parsedError = openAiErrorSchema.safeParse(safeJson(text));
  if (parsedError.success) detail = parsedError.data.error.message;
  const retryAfter = retryAfterMs(response.headers.get("retry-after"), Date.now());
  switch (response.status) {
    case 400:
      // The edge validated the request; a 400 here means the pool disagrees about a field.
      if (parsedError.success) throw ApiError.fromBody(400, parsedError.data);
      throw new ApiError(400, `The image pool refused the request: ${detail}`);
    case 401:
      logEvent("error", "the pool refused the request signature", { runner, detail });
      throw new ApiError(
        500,
        "The image pool refused the edge's signature (POOL_SECRET mismatch).",
        null,
        "pool_misconfigured",
      );
    case 404:
      return new UnknownPath(`${runner} answered 404 (a protocol version it does not speak)`);
    case 409:
      return new RetryableFailure(`${runner} serves another bundle: ${detail}`, retryAfter);
    default:
      return new RetryableFailure(`${runner} answered ${response.status}: ${detail}`, retryAfter);
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

const streamErrorStatus: Record<string, ErrorStatus> = {
  invalid_request_error: 400,
};

function isVisibleChange(before: PoolProgressEvent | undefined, after: PoolProgressEvent): boolean {
  return (
    before === undefined ||
    before.stage !== after.stage ||
    after.progress - before.progress >= 0.01 ||
    after.progress === 1
  );
}

async function readEventStream(
  stream: ReadableStream<Uint8Array>,
  { onProgress, onPartial }: Pick<PoolCallOptions, "onProgress" | "onPartial">,
): Promise<PoolResponse | RetryableFailure> {
  let reported: PoolProgressEvent | undefined;
  for await (const event of parseServerSentEvents(stream)) {
    const data = safeJson(event.data);
    if (event.event === "progress") {
      const progress = poolProgressEventSchema.safeParse(data);
      // Runners report every denoising step; callers need a change they can see.
      if (progress.success && isVisibleChange(reported, progress.data)) {
        reported = progress.data;
        onProgress?.(progress.data);
      }
    } else if (event.event === "partial") {
      // A malformed partial is dropped: it is a preview, the result is what counts.
      const partial = poolPartialImageSchema.safeParse(data);
      if (partial.success) onPartial?.(partial.data);
    } else if (event.event === "result") {
      return parsePoolResponse(data);
    } else if (event.event === "error") {
      const parsedError = openAiErrorSchema.safeParse(data);
      const status = parsedError.success
        ? streamErrorStatus[parsedError.data.error.type]
        : undefined;
      if (status !== undefined && parsedError.success) {
        throw ApiError.fromBody(status, parsedError.data);
      }
      return new RetryableFailure(
        `the pool reported: ${parsedError.success ? parsedError.data.error.message : event.data.slice(0, 200)}`,
      );
    }
  }
  return new RetryableFailure("the pool's event stream ended without a result");
}
