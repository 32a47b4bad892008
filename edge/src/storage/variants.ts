// Encoded variants of the stored PNGs. The cache key names pixels, not an encoding: a key keeps
// one canonical PNG per image, and a webp or jpeg answer is encoded from it the first time it
// is asked for and kept beside it in R2 as `<key>/<i>-q<compression>.<format>` (encoding a
// 1024² image costs tens of ms of CPU, an R2 read costs none). A variant lives as long as its
// PNG: it is served only while the PNG exists, and is retired with it.
import { CONTENT_TYPES, encodeOutput, type OutputEncoding } from "../images/encode.ts";
import { IMMUTABLE_CACHE_CONTROL, objectName } from "./images.ts";

export const PNG_ENCODING: OutputEncoding = { format: "png", compression: 100 };

/** The R2 object (and URL file) of image `index` of `key` in `encoding`. */
export function variantName(key: string, index: number, encoding: OutputEncoding): string {
  if (encoding.format === "png") return objectName(key, index);
  return `${key}/${index}-q${encoding.compression}.${encoding.format}`;
}

/** A variant's file name: the image index, `-q<compression>` for webp and jpeg, the format. */
export const VARIANT_FILE = /^([0-9]{1,2})(?:-q([0-9]{1,3}))?\.(png|webp|jpeg)$/;

/** `3.png`, `0-q80.webp` → the image index and its encoding; undefined for any other name. */
export function parseVariantFile(
  file: string,
): { index: number; encoding: OutputEncoding } | undefined {
  const match = VARIANT_FILE.exec(file);
  if (!match) return undefined;
  const [, index, quality, format] = match;
  if (format === "png") {
    return quality === undefined ? { index: Number(index), encoding: PNG_ENCODING } : undefined;
  }
  const compression = Number(quality);
  if (quality === undefined || compression > 100 || String(compression) !== quality) {
    return undefined;
  }
  return { index: Number(index), encoding: { format: format as "webp" | "jpeg", compression } };
}

/**
 * Image `index` of `key` in `encoding`: the PNG itself, a stored variant, or one encoded now
 * from `png` (read from R2 when not given) and stored. Undefined when the PNG is not stored.
 */
export async function encodedImage(
  key: string,
  index: number,
  encoding: OutputEncoding,
  env: Env,
  png?: Uint8Array,
): Promise<{ bytes: Uint8Array; etag?: string } | undefined> {
  const canonical = objectName(key, index);
  const readPng = async () => {
    const object = await env.IMAGES.get(canonical);
    return object && { bytes: new Uint8Array(await object.arrayBuffer()), etag: object.httpEtag };
  };
  if (encoding.format === "png") return png ? { bytes: png } : ((await readPng()) ?? undefined);
  const name = variantName(key, index, encoding);
  const [pngExists, stored] = await Promise.all([
    png !== undefined || env.IMAGES.head(canonical).then((head) => head !== null),
    env.IMAGES.get(name),
  ]);
  if (!pngExists) {
    // The PNG is gone: so is every variant of it.
    if (stored) await Promise.all([stored.body.cancel(), env.IMAGES.delete(name)]);
    return undefined;
  }
  if (stored) return { bytes: new Uint8Array(await stored.arrayBuffer()), etag: stored.httpEtag };
  const source = png ?? (await readPng())?.bytes;
  if (!source) return undefined;
  const bytes = await encodeOutput(source, encoding);
  const written = await env.IMAGES.put(name, bytes, {
    httpMetadata: {
      contentType: CONTENT_TYPES[encoding.format],
      cacheControl: IMMUTABLE_CACHE_CONTROL,
    },
    customMetadata: { variantOf: canonical },
  });
  return { bytes, etag: written?.httpEtag };
}
