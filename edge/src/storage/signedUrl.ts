// Expiring image URLs: `/v1/images/<key>/<i>.png?expires=<unix s>&signature=<hmac>`. The R2
// object stays content-addressed and shared by the cache; what the URL grants is one hour
// (IMAGE_URL_TTL_SECONDS) of reading it, so knowing a prompt's cache key is not enough.
// Pure WebCrypto over shared/'s HMAC, so Node tests can sign URLs the same way.
import { constantTimeEqual, hmacSha256Hex } from "@unclip/shared";

export interface ImageUrlGrant {
  /** Unix seconds after which the URL is refused. */
  expires: number;
  signature: string;
}

/** Domain-separated from Contract 3's request signatures, in case a secret is ever reused. */
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

/**
 * True when the URL's query grants `objectName` now. Checked before storage is touched, so a
 * refusal takes the same path (and time) whether or not the object exists.
 */
export async function grantsObject(
  secret: string,
  objectName: string,
  query: { expires?: string; signature?: string },
  nowMs: number = Date.now(),
): Promise<boolean> {
  const { expires, signature } = query;
  if (!expires || !signature || !/^[0-9]{1,12}$/.test(expires)) return false;
  if (!/^[0-9a-f]{64}$/.test(signature)) return false;
  const expected = await hmacSha256Hex(secret, signedText(objectName, Number(expires)));
  return constantTimeEqual(signature, expected) && Number(expires) * 1000 > nowMs;
}
