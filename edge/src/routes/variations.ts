// POST /v1/images/variations (OpenAI-compatible multipart): a square PNG ≤ 4 MB, checked from
// its header before anything decodes it, rendered through its CLIP image embedding.
import { MAX_VARIATION_IMAGE_BYTES, variationFieldsSchema } from "@unclip/shared";
import { Hono } from "hono";
import { servedBundle } from "../bundle/index.ts";
import { requireServedModel } from "../bundle/models.ts";
import { uploadedPng, variationJob } from "../cache/render.ts";
import { ApiError } from "../errors.ts";
import { readPngHeader } from "../images/png.ts";
import { requireApiKey } from "../middleware/auth/index.ts";
import { body } from "../middleware/body/index.ts";
import { chargeRequest, costOf, rateLimit } from "../middleware/ratelimit/index.ts";
import type { AppEnv } from "../types.ts";
import { answerImages } from "./generations.ts";

/** The image plus the other fields and multipart framing. */
export const MAX_VARIATION_BODY_BYTES = MAX_VARIATION_IMAGE_BYTES + 64 * 1024;

export interface VariationUpload {
  fields: Record<string, string>;
  image: Uint8Array;
  /** Every file field that was sent, by name (`image`, and an edit's `mask`). */
  files: Record<string, Uint8Array>;
}

/**
 * Splits a multipart body into its text fields and its files (`image`, or those named in
 * `fileFields`), with errors that name the field.
 */
export async function readVariationForm(
  bytes: Uint8Array,
  contentType: string,
  fileFields: readonly string[] = ["image"],
): Promise<VariationUpload> {
  let form: FormData;
  try {
    form = await new Request("http://form.invalid/", {
      method: "POST",
      headers: { "content-type": contentType },
      body: bytes,
    }).formData();
  } catch {
    throw new ApiError(
      400,
      "We could not parse the multipart body of your request.",
      null,
      "invalid_multipart",
    );
  }
  const fields: Record<string, string> = {};
  const files: Record<string, Uint8Array> = {};
  for (const [name, value] of form.entries()) {
    if (fileFields.includes(name)) {
      if (typeof value === "string") {
        throw new ApiError(400, `Invalid '${name}': must be a file upload.`, name, "invalid_value");
      }
      files[name] = new Uint8Array(await value.arrayBuffer());
    } else if (typeof value === "string") {
      fields[name] = value;
    } else {
      throw new ApiError(400, `Invalid '${name}': must not be a file.`, name, "invalid_value");
    }
  }
  const image = files.image;
  if (!image)
    throw new ApiError(
      400,
      "Missing 'image': upload a PNG file.",
      "image",
      "missing_required_parameter",
    );
  for (const [name, file] of Object.entries(files)) {
    if (file.byteLength > MAX_VARIATION_IMAGE_BYTES) {
      // 400 as OpenAI answers an image over 4 MB; only a body over the whole limit gets 413.
      throw new ApiError(
        400,
        `Invalid '${name}': ${file.byteLength} bytes is over the ${MAX_VARIATION_IMAGE_BYTES}-byte limit.`,
        name,
        "image_too_large",
      );
    }
  }
  return { fields, image, files };
}

export const variations = new Hono<AppEnv>().post(
  "/v1/images/variations",
  requireApiKey,
  rateLimit,
  body("multipart/form-data", MAX_VARIATION_BODY_BYTES),
  async (c) => {
    const upload = await readVariationForm(c.get("bodyBytes"), c.req.header("content-type") ?? "");
    const parsed = variationFieldsSchema.safeParse(upload.fields);
    if (!parsed.success) throw ApiError.fromZod(parsed.error);
    requireServedModel(parsed.data.model);
    readPngHeader(upload.image);
    const job = await variationJob(parsed.data, await uploadedPng(upload.image), servedBundle);
    await chargeRequest(c, costOf(job.count, job.size));
    c.header("x-unclip-cache-key", job.key);
    return answerImages(c, job, parsed.data.response_format);
  },
);
