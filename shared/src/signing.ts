// Request signing of Contract 3 (docs/ARCHITECTURE.md): HMAC-SHA256 over method, path, timestamp
// and the body's sha256, with WebCrypto so the Worker and the Node runner run this same code.
import { constantTimeEqual, sha256Hex, toHex, utf8 } from "./bytes.ts";

export const SIGNATURE_HEADER = "x-unclip-signature";
export const TIMESTAMP_HEADER = "x-unclip-timestamp";
/** Requests older or newer than this are refused, so a captured request can't be replayed later. */
export const DEFAULT_REPLAY_WINDOW_MS = 60_000;

export interface SignableRequest {
  method: string;
  /** Path and query, e.g. "/v1/generate". */
  path: string;
  body: string | Uint8Array;
}

async function hmacKey(secret: string): Promise<CryptoKey> {
  return crypto.subtle.importKey(
    "raw",
    utf8(secret) as BufferSource,
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
}

/** HMAC-SHA256 of a text under a secret, as lowercase hex (also signs the edge's image URLs). */
export async function hmacSha256Hex(secret: string, message: string): Promise<string> {
  const mac = await crypto.subtle.sign(
    "HMAC",
    await hmacKey(secret),
    utf8(message) as BufferSource,
  );
  return toHex(mac);
}

export async function canonicalString(req: SignableRequest, timestamp: number): Promise<string> {
  return `${req.method.toUpperCase()}\n${req.path}\n${timestamp}\n${await sha256Hex(req.body)}`;
}

export async function signatureFor(
  secret: string,
  req: SignableRequest,
  timestamp: number,
): Promise<string> {
  return hmacSha256Hex(secret, await canonicalString(req, timestamp));
}

/** Headers to add to a pool request. */
export async function signRequest(
  secret: string,
  req: SignableRequest,
  now: number = Date.now(),
): Promise<Record<string, string>> {
  return {
    [TIMESTAMP_HEADER]: String(now),
    [SIGNATURE_HEADER]: await signatureFor(secret, req, now),
  };
}

export type VerifyResult = { ok: true } | { ok: false; reason: string };

/**
 * Remembers signatures seen inside the replay window, so the same signed request is
 * accepted once. Memory is bounded by the window: entries expire with it.
 */
export class ReplayGuard {
  private readonly seen = new Map<string, number>();
  constructor(private readonly windowMs: number = DEFAULT_REPLAY_WINDOW_MS) {}

  /** True the first time a signature is presented within the window. */
  claim(signature: string, now: number): boolean {
    for (const [sig, expiry] of this.seen) {
      if (expiry > now) break; // insertion order ≈ expiry order
      this.seen.delete(sig);
    }
    if (this.seen.has(signature)) return false;
    this.seen.set(signature, now + 2 * this.windowMs);
    return true;
  }
}

export interface VerifyOptions {
  now?: number;
  windowMs?: number;
  replayGuard?: ReplayGuard;
}

/**
 * Checks a signed request. `secrets` lists the current secret first and, during a rotation,
 * the previous one: a request signed with either is accepted, so requests signed before the
 * signer switched still pass (infra/DEPLOY.md, "Rotating the pool secret").
 */
export async function verifyRequest(
  secrets: string | readonly string[],
  req: SignableRequest,
  headers: { get(name: string): string | null },
  options: VerifyOptions = {},
): Promise<VerifyResult> {
  const now = options.now ?? Date.now();
  const windowMs = options.windowMs ?? DEFAULT_REPLAY_WINDOW_MS;
  const signature = headers.get(SIGNATURE_HEADER);
  const stamp = headers.get(TIMESTAMP_HEADER);
  if (!signature || !stamp) return { ok: false, reason: "missing signature headers" };
  if (!/^\d{1,16}$/.test(stamp)) return { ok: false, reason: "malformed timestamp" };
  const timestamp = Number(stamp);
  if (Math.abs(now - timestamp) > windowMs) return { ok: false, reason: "stale timestamp" };
  const presented = signature.toLowerCase();
  let matched: string | undefined;
  for (const secret of typeof secrets === "string" ? [secrets] : secrets) {
    const expected = await signatureFor(secret, req, timestamp);
    if (constantTimeEqual(presented, expected)) matched = expected;
  }
  if (matched === undefined) return { ok: false, reason: "bad signature" };
  if (options.replayGuard && !options.replayGuard.claim(matched, now)) {
    return { ok: false, reason: "replayed request" };
  }
  return { ok: true };
}
