// POST /v1/images/edits (OpenAI-compatible multipart): inpainting. A square PNG `image`, an
// optional `mask` PNG of the same size whose fully transparent pixels mark the area to redraw
// (else the image's own alpha), and the prompt that says what to draw there. Both files are
// checked from their headers here; the runner decodes them.
import { editFieldsSchema, MAX_VARIATION_IMAGE_BYTES } from "@unclip/shared";
import { Hono } from "hono";
import { servedBundle } from "../bundle/index.ts";
import { requireServedModel } from "../bundle/models.ts";
import { editJob, uploadedPng } from "../cache/render.ts";
import { configOf } from "../config.ts";
import { enforceContentPolicy } from "../contentPolicy.ts";
import { ApiError } from "../errors.ts";
import { readPngHeader } from "../images/png.ts";
import { requireApiKey } from "../middleware/auth/index.ts";
import { body } from "../middleware/body/index.ts";
import { chargeRequest, costOf, rateLimit } from "../middleware/ratelimit/index.ts";
import type { AppEnv } from "../types.ts";
import { answerImages } from "./generations.ts";
import { readVariationForm } from "./variations.ts";

/** The image, the mask, the other fields and the multipart framing. */
export const MAX_EDIT_BODY_BYTES = 2 * MAX_VARIATION_IMAGE_BYTES + 64 * 1024;

export const edits = new Hono<AppEnv>().post(
  "/v1/images/edits",
  requireApiKey,
  rateLimit,
  body("multipart/form-data", MAX_EDIT_BODY_BYTES),
  async (c) => {
    const upload = await readVariationForm(c.get("bodyBytes"), c.req.header("content-type") ?? "", [
      "image",
      "mask",
    ]);
    const parsed = editFieldsSchema.safeParse(upload.fields);
    if (!parsed.success) throw ApiError.fromZod(parsed.error);
    requireServedModel(parsed.data.model);
    enforceContentPolicy(parsed.data.prompt, "prompt", configOf(c.env).BLOCKED_TERMS, servedBundle);
    const image = readPngHeader(upload.image, "image");
    const maskBytes = upload.files.mask;
    if (maskBytes) {
      const mask = readPngHeader(maskBytes, "mask");
      if (mask.width !== image.width) {
        throw new ApiError(
          400,
          `Invalid 'mask': it must have the same dimensions as 'image' (${image.width}×${image.height}, found ${mask.width}×${mask.height}).`,
          "mask",
          "invalid_image_dimensions",
        );
      }
    }
    const job = await editJob(
      parsed.data,
      await uploadedPng(upload.image),
      maskBytes && (await uploadedPng(maskBytes)),
      servedBundle,
    );
    await chargeRequest(c, costOf(job.count, job.size));
    c.header("x-unclip-cache-key", job.key);
    return answerImages(c, job, parsed.data.response_format);
  },
);
