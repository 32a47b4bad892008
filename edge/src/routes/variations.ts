// POST /v1/images/variations (OpenAI-compatible multipart): a square PNG ≤ 4 MB, checked from
// its header before anything decodes it, rendered through its CLIP image embedding.
import {
  imagesResponseSchema,
  outputEncodingOf,
  responseFormatOf,
  variationFieldsSchema,
} from "@unclip/shared";
import { z } from "zod";
import { ApiError } from "../errors.ts";
import { endpoint } from "../http/endpoint.ts";
import { admitImageRequest, answerImageRequest } from "../http/imageRequest.ts";
import { errorResponses, jsonResponse, requestBody } from "../http/openapi.ts";
import { maxUploadBodyBytes, readImageUpload } from "../http/upload.ts";
import { readPngHeader } from "../images/png.ts";
import { requireApiKey } from "../middleware/auth/index.ts";
import { body } from "../middleware/body/index.ts";
import { rateLimit } from "../middleware/ratelimit/index.ts";
import { uploadedPng } from "../render/job.ts";

const variationFormSchema = variationFieldsSchema.extend({
  image: z.any().meta({ type: "string", format: "binary", description: "Square PNG, ≤ 4 MB" }),
});

export const variations = endpoint(
  "post",
  "/v1/images/variations",
  {
    summary: "Create variations of a square PNG (OpenAI-compatible)",
    security: [{ bearer: [] }],
    request: requestBody("multipart/form-data", variationFormSchema),
    responses: { 200: jsonResponse(imagesResponseSchema, "The images"), ...errorResponses },
  },
  requireApiKey,
  rateLimit,
  body("multipart/form-data", maxUploadBodyBytes(1)),
  async (c) => {
    const upload = await readImageUpload(c.get("bodyBytes"), c.req.header("content-type") ?? "");
    const parsed = variationFieldsSchema.safeParse(upload.fields);
    if (!parsed.success) throw ApiError.fromZod(parsed.error);
    const fields = parsed.data;
    admitImageRequest(c.env, fields.model);
    readPngHeader(upload.image);
    return answerImageRequest(
      c,
      { operation: "variation", fields, image: await uploadedPng(upload.image) },
      { responseFormat: responseFormatOf(fields), encoding: outputEncodingOf(fields) },
    );
  },
);
