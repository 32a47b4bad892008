// The R2 image store: `<key>/<i>.png`, content-addressed and immutable. An image is written
// only once the whole of it arrived and its sha256 matches the pool's; a job's images are all
// checked before the first write.
import { bytesFromBase64, type PoolResponse, sha256Hex } from "@unclip/shared";
import { ApiError } from "../errors.ts";
import type { RenderJob } from "../render/job.ts";

export const IMMUTABLE_CACHE_CONTROL = "public, max-age=31536000, immutable";
const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

export function objectName(key: string, index: number): string {
  return `${key}/${index}.png`;
}

/** True when objects 0..count−1 of the key all exist (a request for n images is a hit). */
export async function isCached(key: string, count: number, env: Env): Promise<boolean> {
  const heads = await Promise.all(
    Array.from({ length: count }, (_, i) => env.IMAGES.head(objectName(key, i))),
  );
  return heads.every((head) => head !== null);
}

function badPoolImage(reason: string): ApiError {
  return new ApiError(
    502,
    `The image pool sent an image the edge refused to store: ${reason}.`,
    null,
    "bad_pool_response",
  );
}

export interface VerifiedImage {
  index: number;
  bytes: Uint8Array;
  sha256: string;
}

/** Checks every image of a pool answer against the job; throws before anything is stored. */
export async function verifyPoolImages(
  job: RenderJob,
  response: PoolResponse,
): Promise<VerifiedImage[]> {
  if (response.bundle !== job.bundle) {
    throw badPoolImage(`it was rendered by ${response.bundle}, not ${job.bundle}`);
  }
  const side = Number.parseInt(job.size, 10);
  const verified: VerifiedImage[] = [];
  for (let index = 0; index < job.count; index++) {
    const image = response.images.find((candidate) => candidate.index === index);
    if (!image) throw badPoolImage(`image ${index} is missing`);
    if (image.width !== side || image.height !== side) {
      throw badPoolImage(`image ${index} is ${image.width}×${image.height}, not ${job.size}`);
    }
    let bytes: Uint8Array;
    try {
      bytes = bytesFromBase64(image.png_b64);
    } catch {
      throw badPoolImage(`image ${index} is not valid base64`);
    }
    if (!PNG_SIGNATURE.every((byte, i) => bytes[i] === byte)) {
      throw badPoolImage(`image ${index} is not a PNG`);
    }
    const sha256 = await sha256Hex(bytes);
    if (sha256 !== image.sha256) {
      throw badPoolImage(`image ${index} does not match its sha256 (incomplete or corrupted)`);
    }
    verified.push({ index, bytes, sha256 });
  }
  return verified;
}

/**
 * Writes a job's images. All or nothing: when R2 refuses one, the ones this call wrote are
 * deleted again, so a key never holds part of a job, and the client gets a retryable 503.
 */
export async function storeImages(
  job: RenderJob,
  images: VerifiedImage[],
  env: Env,
): Promise<void> {
  const created = new Date().toISOString();
  const writes = await Promise.allSettled(
    images.map((image) =>
      env.IMAGES.put(objectName(job.key, image.index), image.bytes, {
        // R2 checks the body against this hash too, so a truncated upload is refused.
        sha256: image.sha256,
        httpMetadata: { contentType: "image/png", cacheControl: IMMUTABLE_CACHE_CONTROL },
        customMetadata: {
          bundle: job.bundle,
          // "kind": the metadata name objects have always carried for the operation.
          kind: job.operation,
          seed: String(job.seed),
          params: JSON.stringify(job.params),
          created,
        },
      }),
    ),
  );
  const failed = writes.filter((w) => w.status === "rejected");
  if (failed.length === 0) return;
  console.error(`edge: storing ${job.key} failed`, (failed[0] as PromiseRejectedResult).reason);
  const written = images.filter((_, i) => writes[i].status === "fulfilled");
  await env.IMAGES.delete(written.map((image) => objectName(job.key, image.index))).catch(
    (error: unknown) => console.error(`edge: could not roll back ${job.key}`, error),
  );
  throw new ApiError(
    503,
    "The images were rendered but could not be stored; nothing was cached. Try again.",
    null,
    "storage_unavailable",
    { "retry-after": "1" },
  );
}

/** The PNGs 0..count−1 of a key, or undefined when any of them is missing (a miss). */
export async function readCached(
  key: string,
  count: number,
  env: Env,
): Promise<Uint8Array[] | undefined> {
  const objects = await Promise.all(
    Array.from({ length: count }, (_, i) => env.IMAGES.get(objectName(key, i))),
  );
  if (objects.some((object) => object === null)) {
    // Unread bodies would hold their streams open.
    await Promise.all(objects.map((object) => object?.body.cancel()));
    return undefined;
  }
  return Promise.all(
    objects.map(async (object) => new Uint8Array(await (object as R2ObjectBody).arrayBuffer())),
  );
}

/** The PNGs of a key that was stored (a job's result): missing ones are a server fault. */
export async function readStored(key: string, count: number, env: Env): Promise<Uint8Array[]> {
  const images = await readCached(key, count, env);
  if (!images) {
    throw new ApiError(500, `The images of ${key} vanished from storage.`, null, "internal_error");
  }
  return images;
}
