import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  ReplayGuard,
  SIGNATURE_HEADER,
  signatureFor,
  signRequest,
  TIMESTAMP_HEADER,
  verifyRequest,
} from "./signing.ts";

const secret = "test-secret";
const req = { method: "POST", path: "/v1/generate", body: '{"prompt":"a red circle"}' };
const now = 1_780_000_000_000;
const asHeaders = (h: Record<string, string>) => new Headers(h);

describe("request signing (Contract 3, docs/ARCHITECTURE.md)", () => {
  it("matches the golden signature that pins the canonical string", async () => {
    // Computed independently with Python hmac/hashlib over "POST\n/v1/generate\n<ts>\n<sha256(body)>".
    expect(await signatureFor(secret, req, now)).toBe(
      "ff2fa20b5fcf159041de8b6f98bd5ea01b6f137bc4e63603c90e0c1420db95f8",
    );
  });

  it("accepts a request it signed", async () => {
    const headers = asHeaders(await signRequest(secret, req, now));
    expect(await verifyRequest(secret, req, headers, { now })).toEqual({ ok: true });
  });

  it("refuses missing headers, a wrong secret, and a tampered method, path or body", async () => {
    const headers = asHeaders(await signRequest(secret, req, now));
    expect(await verifyRequest(secret, req, asHeaders({}), { now })).toEqual({
      ok: false,
      reason: "missing signature headers",
    });
    expect((await verifyRequest("other", req, headers, { now })).ok).toBe(false);
    for (const tampered of [
      { ...req, method: "PUT" },
      { ...req, path: "/v1/variations" },
      { ...req, body: '{"prompt":"a red square"}' },
    ]) {
      expect(await verifyRequest(secret, tampered, headers, { now })).toEqual({
        ok: false,
        reason: "bad signature",
      });
    }
  });

  it("accepts the current and the previous secret during a rotation, and no third one", async () => {
    const rotation = ["new-secret", secret];
    const signedBefore = asHeaders(await signRequest(secret, req, now));
    const signedAfter = asHeaders(await signRequest("new-secret", req, now));
    expect(await verifyRequest(rotation, req, signedBefore, { now })).toEqual({ ok: true });
    expect(await verifyRequest(rotation, req, signedAfter, { now })).toEqual({ ok: true });
    const signedElsewhere = asHeaders(await signRequest("third-secret", req, now));
    expect(await verifyRequest(rotation, req, signedElsewhere, { now })).toEqual({
      ok: false,
      reason: "bad signature",
    });
    // Once the rotation is over, the previous secret is refused.
    expect((await verifyRequest(["new-secret"], req, signedBefore, { now })).ok).toBe(false);
  });

  it("refuses a replay signed with the previous secret as it does one signed with the current", async () => {
    const replayGuard = new ReplayGuard();
    const headers = asHeaders(await signRequest(secret, req, now));
    const rotation = ["new-secret", secret];
    expect(await verifyRequest(rotation, req, headers, { now, replayGuard })).toEqual({ ok: true });
    expect(await verifyRequest(rotation, req, headers, { now, replayGuard })).toEqual({
      ok: false,
      reason: "replayed request",
    });
  });

  it("refuses stale and future timestamps outside the window, and malformed ones", async () => {
    const old = asHeaders(await signRequest(secret, req, now - 61_000));
    expect(await verifyRequest(secret, req, old, { now })).toEqual({
      ok: false,
      reason: "stale timestamp",
    });
    const future = asHeaders(await signRequest(secret, req, now + 61_000));
    expect(await verifyRequest(secret, req, future, { now })).toEqual({
      ok: false,
      reason: "stale timestamp",
    });
    const bad = asHeaders({ [TIMESTAMP_HEADER]: "soon", [SIGNATURE_HEADER]: "00" });
    expect(await verifyRequest(secret, req, bad, { now })).toEqual({
      ok: false,
      reason: "malformed timestamp",
    });
  });

  it("refuses a replay of the same signed request inside the window", async () => {
    const guard = new ReplayGuard();
    const headers = asHeaders(await signRequest(secret, req, now));
    expect(await verifyRequest(secret, req, headers, { now, replayGuard: guard })).toEqual({
      ok: true,
    });
    expect(
      await verifyRequest(secret, req, headers, { now: now + 10, replayGuard: guard }),
    ).toEqual({
      ok: false,
      reason: "replayed request",
    });
  });

  it("forgets signatures once they are older than the window, so memory stays bounded", () => {
    const guard = new ReplayGuard(1000);
    expect(guard.claim("a", 0)).toBe(true);
    expect(guard.claim("a", 500)).toBe(false);
    expect(guard.claim("b", 5000)).toBe(true);
    expect(guard.claim("a", 5000)).toBe(true);
  });

  it("never verifies a body other than the signed one", async () => {
    await fc.assert(
      fc.asyncProperty(fc.string(), fc.string(), async (body, other) => {
        fc.pre(body !== other);
        const headers = asHeaders(await signRequest(secret, { ...req, body }, now));
        expect((await verifyRequest(secret, { ...req, body: other }, headers, { now })).ok).toBe(
          false,
        );
      }),
      { numRuns: 50 },
    );
  });
});
