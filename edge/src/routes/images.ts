// GET /v1/images/<key>/<i>.png: the stored PNGs. Content-addressed capability URLs (the key
// is a sha256), so no API key is needed and the answer is immutable.
import { Hono } from "hono";
import { IMMUTABLE_CACHE_CONTROL, objectName } from "../cache/store.ts";
import { ApiError } from "../errors.ts";
import type { AppEnv } from "../types.ts";

export async function servedImage(
  key: string,
  index: number,
  ifNoneMatch: string | undefined,
  env: Env,
): Promise<Response> {
  const name = objectName(key, index);
  const object = await env.IMAGES.get(name, {
    onlyIf: ifNoneMatch
      ? { etagDoesNotMatch: ifNoneMatch.replace(/^W\//, "").replaceAll('"', "") }
      : undefined,
  });
  if (object === null) {
    throw new ApiError(404, `No image at /v1/images/${name}.`, null, "image_not_found");
  }
  const headers = new Headers({
    etag: object.httpEtag,
    "cache-control": IMMUTABLE_CACHE_CONTROL,
  });
  // Without a body, the precondition failed: the client's copy is current.
  if (!("body" in object)) return new Response(null, { status: 304, headers });
  headers.set("content-type", "image/png");
  headers.set("content-length", String(object.size));
  return new Response(object.body, { headers });
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
