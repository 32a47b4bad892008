// Multipart image uploads (variations and edits): the text fields and the files, each file
// under the per-image limit, with errors that name the field.
import { MAX_VARIATION_IMAGE_BYTES } from "@unclip/shared";
import { ApiError } from "../errors.ts";

/** Bytes of one uploaded image (the shared contract's name predates edits). */
export const MAX_UPLOAD_IMAGE_BYTES = MAX_VARIATION_IMAGE_BYTES;

/** The multipart framing and text fields around the files. */
const FORM_OVERHEAD_BYTES = 64 * 1024;

/** The body limit of a form carrying `files` images. */
export function maxUploadBodyBytes(files: number): number {
  return files * MAX_UPLOAD_IMAGE_BYTES + FORM_OVERHEAD_BYTES;
}

export interface ImageUpload {
  fields: Record<string, string>;
  image: Uint8Array;
  /** Every file field that was sent, by name (`image`, and an edit's `mask`). */
  files: Record<string, Uint8Array>;
}

/**
 * Splits a multipart body into its text fields and its files (`image`, or those named in
 * `fileFields`), with errors that name the field.
 */
export async function readImageUpload(
  bytes: Uint8Array,
  contentType: string,
  fileFields: readonly string[] = ["image"],
): Promise<ImageUpload> {
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
    if (file.byteLength > MAX_UPLOAD_IMAGE_BYTES) {
      // 400 as OpenAI answers an image over 4 MB; only a body over the whole limit gets 413.
      throw new ApiError(
        400,
        `Invalid '${name}': ${file.byteLength} bytes is over the ${MAX_UPLOAD_IMAGE_BYTES}-byte limit.`,
        name,
        "image_too_large",
      );
    }
  }
  return { fields, image, files };
}
