// GET /v1/images/<key>/<i>.png: the stored PNGs. Content-addressed capability URLs (the key
// is a sha256), so no API key is needed and the answer is immutable.
import { Hono } from "hono";
import { IMMUTABLE_CACHE_CONTROL, objectName } from "../cache/store.ts";
import { ApiError } from "../errors.ts";
import type { AppEnv } from "../types.ts";

/** The entity tags of an If-None-Match header ("*" matches any), weak prefixes dropped. */
export function entityTags(header: string | undefined): string[] {
  if (!header) return [];
  return header
    .split(",")
    .map((tag) => tag.trim().replace(/^W\//, ""))
    .filter((tag) => tag.length > 0);
}

export async function servedImage(
  key: string,
  index: number,
  ifNoneMatch: string | undefined,
  env: Env,
): Promise<Response> {
  const name = objectName(key, index);
  const notFound = () =>
    new ApiError(404, `No image at /v1/images/${name}.`, null, "image_not_found");
  const tags = entityTags(ifNoneMatch);
  if (tags.length > 0) {
    const head = await env.IMAGES.head(name);
    if (head === null) throw notFound();
    if (tags.includes("*") || tags.includes(head.httpEtag)) {
      return new Response(null, {
        status: 304,
        headers: { etag: head.httpEtag, "cache-control": IMMUTABLE_CACHE_CONTROL },
      });
    }
  }
  const object = await env.IMAGES.get(name);
  if (object === null) throw notFound();
  return new Response(object.body, {
    headers: {
      etag: object.httpEtag,
      "cache-control": IMMUTABLE_CACHE_CONTROL,
      "content-type": "image/png",
      "content-length": String(object.size),
    },
  });
}

export const images = new Hono<AppEnv>().get(
  "/v1/images/:key{[0-9a-f]{64}}/:file{[0-9]+\\.png}",
  (c) =>
    servedImage(
      c.req.param("key"),
      Number.parseInt(c.req.param("file"), 10),
      c.req.header("if-none-match"),
      c.env,
    ),
);
