// Request ids (`x-request-id`): one per public request, made at the edge or taken from the
// client, carried to the pool in the signed job body, and written in both sides' log lines, so
// one id follows a request from the answer a user pastes into a bug report to the runner job.
import { z } from "zod";

export const REQUEST_ID_HEADER = "x-request-id";

/**
 * What a client may send and we echo: 1..128 characters of [A-Za-z0-9._:-]. Anything else
 * (spaces, quotes, control characters, a 4 KB blob) could break a log line or a header, so it is
 * replaced by a fresh id rather than refused: the request itself is fine.
 */
export const requestIdSchema = z.string().regex(/^[A-Za-z0-9._:-]{1,128}$/);

/** "req_" and 32 hex characters (128 random bits), shaped like OpenAI's ids. */
export function newRequestId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return `req_${Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("")}`;
}

/** The client's id when it is well formed, else a new one. */
export function requestIdFrom(header: string | null | undefined): string {
  return header != null && requestIdSchema.safeParse(header).success ? header : newRequestId();
}
