// GET /v1/images/<key>/<i>.png?expires=…&signature=… (or `<i>-q<compression>.webp|jpeg`):
// the stored images, behind the expiring signed URLs the image answers carry
// (storage/signedUrl.ts). No API key is needed: the URL is the grant. A webp or jpeg is encoded
// from the PNG on its first request and kept (storage/variants.ts). The bytes are immutable,
// so caches may keep them as long as the URL is valid.
import { z } from "zod";
import { configOf } from "../config.ts";
import { ApiError } from "../errors.ts";
import { endpoint } from "../http/endpoint.ts";
import { errorResponses } from "../http/openapi.ts";
import { CONTENT_TYPES, type OutputEncoding } from "../images/encode.ts";
import { grantsObject, imageUrlSecretsOf } from "../storage/signedUrl.ts";
import { encodedImage, parseVariantFile, VARIANT_FILE, variantName } from "../storage/variants.ts";

/** The entity tags of an If-None-Match header ("*" matches any), weak prefixes dropped. */
export function entityTags(header: string | undefined): string[] {
  if (!header) return [];
  return header
    .split(",")
    .map((tag) => tag.trim().replace(/^W\//, ""))
    .filter((tag) => tag.length > 0);
}

/** One answer for unsigned, altered and expired URLs alike, existing object or not. */
export function invalidImageUrl(): ApiError {
  return new ApiError(
    403,
    "This image URL is invalid or has expired. Image URLs are valid for a limited time; request the image again for a fresh URL.",
    null,
    "invalid_image_url",
  );
}

export interface ImageRequest {
  key: string;
  index: number;
  encoding: OutputEncoding;
  expires?: string;
  signature?: string;
  ifNoneMatch?: string;
}

export async function servedImage(request: ImageRequest, env: Env): Promise<Response> {
  const name = variantName(request.key, request.index, request.encoding);
  const now = Date.now();
  if (!(await grantsObject(imageUrlSecretsOf(configOf(env)), name, request, now))) {
    throw invalidImageUrl();
  }
  // A signed URL for an object that is gone (never for one that never was: the edge signs
  // only what it stored), so saying so reveals nothing the URL's holder did not know.
  const notFound = () =>
    new ApiError(404, `No image at /v1/images/${name}.`, null, "image_not_found");
  const secondsLeft = Math.max(0, Number(request.expires) - Math.floor(now / 1000));
  const cacheControl = `public, max-age=${secondsLeft}, immutable`;
  const tags = entityTags(request.ifNoneMatch);
  if (tags.length > 0) {
    const head = await env.IMAGES.head(name);
    if (head !== null && (tags.includes("*") || tags.includes(head.httpEtag))) {
      return new Response(null, {
        status: 304,
        headers: { etag: head.httpEtag, "cache-control": cacheControl },
      });
    }
  }
  const image = await encodedImage(request.key, request.index, request.encoding, env);
  if (!image) throw notFound();
  return new Response(image.bytes, {
    headers: {
      ...(image.etag ? { etag: image.etag } : {}),
      "cache-control": cacheControl,
      "content-type": CONTENT_TYPES[request.encoding.format],
      "content-length": String(image.bytes.length),
    },
  });
}

/** The file part of the path (storage/variants.ts's VARIANT_FILE), loosely and without groups:
 * Hono's router takes no groups in a parameter. */
const IMAGE_FILE_ROUTE = "[0-9][-q0-9]{0,6}\\.[a-z]{3,4}";

export const images = endpoint(
  "get",
  `/v1/images/:key{[0-9a-f]{64}}/:file{${IMAGE_FILE_ROUTE}}`,
  {
    summary:
      "A stored image, through the signed URL an answer carried (valid IMAGE_URL_TTL_SECONDS, one hour by default; ETag and If-None-Match)",
    request: {
      params: z.object({
        key: z.string().regex(/^[0-9a-f]{64}$/),
        file: z.string().regex(VARIANT_FILE),
      }),
      query: z.object({
        expires: z.string().regex(/^[0-9]+$/),
        signature: z.string().regex(/^[0-9a-f]{64}$/),
      }),
    },
    responses: {
      200: {
        description: "The image, in the format its file name ends with",
        content: Object.fromEntries(
          Object.values(CONTENT_TYPES).map((type) => [
            type,
            { schema: z.any().meta({ type: "string", format: "binary" }) },
          ]),
        ),
      },
      304: { description: "Not modified" },
      403: errorResponses[403],
      404: errorResponses[404],
    },
  },
  (c) => {
    const file = parseVariantFile(c.req.param("file") ?? "");
    // The route's pattern lets through a few names no answer ever signs (`0-q7.png`, `q101`).
    if (!file) throw invalidImageUrl();
    return servedImage(
      {
        key: c.req.param("key") ?? "",
        ...file,
        expires: c.req.query("expires"),
        signature: c.req.query("signature"),
        ifNoneMatch: c.req.header("if-none-match"),
      },
      c.env,
    );
  },
);
