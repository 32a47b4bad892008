// Expiring image URLs: `/v1/images/<key>/<i>.png?expires=<unix s>&signature=<hmac>`. The R2
// object stays content-addressed and shared by the cache; what the URL grants is one hour
// (IMAGE_URL_TTL_SECONDS) of reading it, so knowing a prompt's cache key is not enough.
// Pure WebCrypto over shared/'s HMAC, so Node tests can sign URLs the same way.
// URLs are signed with the current IMAGE_URL_SECRET and accepted under it or, during a
// rotation, under IMAGE_URL_SECRET_PREVIOUS, so URLs handed out before it keep working.
import { constantTimeEqual, hmacSha256Hex } from "@unclip/shared";

export interface ImageUrlGrant {
  /** Unix seconds after which the URL is refused. */
  expires: number;
  signature: string;
}

/**
 * Domain-separated from the pool requests' signatures (Contract 3, docs/ARCHITECTURE.md), in
 * case a secret is ever reused.
 */
function signedText(objectName: string, expires: number): string {
  return `unclip-image-url-v1\n${objectName}\n${expires}`;
}

export async function signImageObject(
  secret: string,
  objectName: string,
  ttlSeconds: number,
  nowMs: number = Date.now(),
): Promise<ImageUrlGrant> {
  const expires = Math.floor(nowMs / 1000) + ttlSeconds;
  return { expires, signature: await hmacSha256Hex(secret, signedText(objectName, expires)) };
}

/** The query string of a signed URL. */
export function grantQuery(grant: ImageUrlGrant): string {
  return `expires=${grant.expires}&signature=${grant.signature}`;
}

/** The secrets a URL may be signed with: the current one, then the previous one if rotating. */
export function imageUrlSecretsOf(config: {
  IMAGE_URL_SECRET: string;
  IMAGE_URL_SECRET_PREVIOUS?: string;
}): string[] {
  const previous = config.IMAGE_URL_SECRET_PREVIOUS;
  return previous === undefined ? [config.IMAGE_URL_SECRET] : [config.IMAGE_URL_SECRET, previous];
}

/**
 * True when the URL's query grants `objectName` now, under any of `secrets`. Checked before
 * storage is touched, so a refusal takes the same path (and time) whether or not the object
 * exists; every secret is tried, so the time does not say which one matched either.
 */
export async function grantsObject(
  secrets: string | readonly string[],
  objectName: string,
  query: { expires?: string; signature?: string },
  nowMs: number = Date.now(),
): Promise<boolean> {
  const { expires, signature } = query;
  if (!expires || !signature || !/^[0-9]{1,12}$/.test(expires)) return false;
  if (!/^[0-9a-f]{64}$/.test(signature)) return false;
  let signed = false;
  for (const secret of typeof secrets === "string" ? [secrets] : secrets) {
    const expected = await hmacSha256Hex(secret, signedText(objectName, Number(expires)));
    if (constantTimeEqual(signature, expected)) signed = true;
  }
  return signed && Number(expires) * 1000 > nowMs;
}
