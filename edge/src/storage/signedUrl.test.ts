import { describe, expect, it } from "vitest";
import { grantQuery, grantsObject, imageUrlSecretsOf, signImageObject } from "./signedUrl.ts";

const SECRET = "test-image-url-secret";
const NAME = `${"ab".repeat(32)}/0.png`;
const NOW = Date.UTC(2026, 10, 26, 12, 0, 0);

const query = (grant: { expires: number; signature: string }) => ({
  expires: String(grant.expires),
  signature: grant.signature,
});

describe("signed image URLs", () => {
  it("grants the signed object until its expiry, and not a second after", async () => {
    const grant = await signImageObject(SECRET, NAME, 3600, NOW);
    expect(grant.expires).toBe(NOW / 1000 + 3600);
    expect(grantQuery(grant)).toMatch(/^expires=\d+&signature=[0-9a-f]{64}$/);
    expect(await grantsObject(SECRET, NAME, query(grant), NOW)).toBe(true);
    expect(await grantsObject(SECRET, NAME, query(grant), NOW + 3599_000)).toBe(true);
    expect(await grantsObject(SECRET, NAME, query(grant), NOW + 3600_000)).toBe(false);
  });

  it("refuses an altered expiry, signature, object or secret", async () => {
    const grant = await signImageObject(SECRET, NAME, 3600, NOW);
    const later = { ...query(grant), expires: String(grant.expires + 3600) };
    expect(await grantsObject(SECRET, NAME, later, NOW)).toBe(false);
    const flipped = `${grant.signature[0] === "0" ? "1" : "0"}${grant.signature.slice(1)}`;
    expect(await grantsObject(SECRET, NAME, { ...query(grant), signature: flipped }, NOW)).toBe(
      false,
    );
    expect(await grantsObject(SECRET, NAME.replace("/0.png", "/1.png"), query(grant), NOW)).toBe(
      false,
    );
    expect(await grantsObject("another-secret-value", NAME, query(grant), NOW)).toBe(false);
  });

  it("refuses missing and malformed parameters without throwing", async () => {
    const grant = await signImageObject(SECRET, NAME, 3600, NOW);
    for (const bad of [
      {},
      { expires: String(grant.expires) },
      { signature: grant.signature },
      { expires: "1e12", signature: grant.signature },
      { expires: String(grant.expires), signature: grant.signature.toUpperCase() },
      { expires: String(grant.expires), signature: `${grant.signature}00` },
    ]) {
      expect(await grantsObject(SECRET, NAME, bad, NOW)).toBe(false);
    }
  });

  it("accepts URLs signed with the previous secret during a rotation, and only then", async () => {
    const NEW_SECRET = "a-new-image-url-secret";
    const before = query(await signImageObject(SECRET, NAME, 3600, NOW));
    const after = query(await signImageObject(NEW_SECRET, NAME, 3600, NOW));
    const rotating = imageUrlSecretsOf({
      IMAGE_URL_SECRET: NEW_SECRET,
      IMAGE_URL_SECRET_PREVIOUS: SECRET,
    });
    expect(rotating).toEqual([NEW_SECRET, SECRET]);
    expect(await grantsObject(rotating, NAME, before, NOW)).toBe(true);
    expect(await grantsObject(rotating, NAME, after, NOW)).toBe(true);
    // The previous secret does not extend a URL's life, and grants no other object.
    expect(await grantsObject(rotating, NAME, before, NOW + 3600_000)).toBe(false);
    expect(await grantsObject(rotating, `${"cd".repeat(32)}/0.png`, before, NOW)).toBe(false);
    // Once the previous secret is dropped, its URLs are refused.
    const rotated = imageUrlSecretsOf({ IMAGE_URL_SECRET: NEW_SECRET });
    expect(rotated).toEqual([NEW_SECRET]);
    expect(await grantsObject(rotated, NAME, before, NOW)).toBe(false);
    expect(await grantsObject(rotated, NAME, after, NOW)).toBe(true);
  });
});
