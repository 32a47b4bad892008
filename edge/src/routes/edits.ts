// POST /v1/images/edits (OpenAI-compatible multipart): inpainting. A square PNG `image`, an
// optional `mask` PNG of the same size whose fully transparent pixels mark the area to redraw
// (else the image's own alpha), and the prompt that says what to draw there. Both files are
// checked from their headers here; the runner decodes them.
import {
  editFieldsSchema,
  imagesResponseSchema,
  outputEncodingOf,
  responseFormatOf,
} from "@unclip/shared";
import { z } from "zod";
import { ApiError } from "../errors.ts";
import { endpoint } from "../http/endpoint.ts";
import { admitImageRequest, answerImageRequest } from "../http/imageRequest.ts";
import { errorResponses, imagesOrStreamResponse, requestBody } from "../http/openapi.ts";
import { maxUploadBodyBytes, readImageUpload } from "../http/upload.ts";
import { readPngHeader } from "../images/png.ts";
import { requireApiKey } from "../middleware/auth/index.ts";
import { body } from "../middleware/body/index.ts";
import { rateLimit } from "../middleware/ratelimit/index.ts";
import { uploadedPng } from "../render/job.ts";

const editFormSchema = editFieldsSchema.extend({
  image: z.any().meta({ type: "string", format: "binary", description: "Square PNG, ≤ 4 MB" }),
  mask: z.any().optional().meta({
    type: "string",
    format: "binary",
    description: "PNG of the image's size; fully transparent pixels are redrawn",
  }),
});

export const edits = endpoint(
  "post",
  "/v1/images/edits",
  {
    summary: "Redraw the masked area of a square PNG from a prompt (OpenAI-compatible)",
    security: [{ bearer: [] }],
    request: requestBody("multipart/form-data", editFormSchema),
    responses: {
      200: imagesOrStreamResponse(imagesResponseSchema, "The images"),
      ...errorResponses,
    },
  },
  requireApiKey,
  rateLimit,
  // The image, the mask, the other fields and the multipart framing.
  body("multipart/form-data", maxUploadBodyBytes(2)),
  async (c) => {
    const upload = await readImageUpload(c.get("bodyBytes"), c.req.header("content-type") ?? "", [
      "image",
      "mask",
    ]);
    const parsed = editFieldsSchema.safeParse(upload.fields);
    if (!parsed.success) throw ApiError.fromZod(parsed.error);
    const fields = parsed.data;
    admitImageRequest(c.env, fields.model, { prompt: fields.prompt });
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
    return answerImageRequest(
      c,
      {
        operation: "edit",
        fields,
        image: await uploadedPng(upload.image),
        mask: maskBytes && (await uploadedPng(maskBytes)),
      },
      {
        responseFormat: responseFormatOf(fields),
        encoding: outputEncodingOf(fields),
        stream: fields.stream
          ? { operation: "edit", partialImages: fields.partial_images ?? 0 }
          : undefined,
      },
    );
  },
);
