// POST /v1/images/generations (OpenAI-compatible, plus seed/steps/guidance and `async`).
import {
  generationRequestSchema,
  imagesResponseSchema,
  jobStatusSchema,
  outputEncodingOf,
  responseFormatOf,
} from "@unclip/shared";
import { endpoint } from "../http/endpoint.ts";
import { admitImageRequest, answerImageRequest } from "../http/imageRequest.ts";
import {
  errorResponses,
  imagesOrStreamResponse,
  jsonResponse,
  requestBody,
} from "../http/openapi.ts";
import { requireApiKey } from "../middleware/auth/index.ts";
import { body, MAX_JSON_BODY_BYTES, parseJsonBody } from "../middleware/body/index.ts";
import { rateLimit } from "../middleware/ratelimit/index.ts";

export const generations = endpoint(
  "post",
  "/v1/images/generations",
  {
    summary:
      "Create images from a prompt (OpenAI-compatible; `async: true` answers 202 with a job)",
    security: [{ bearer: [] }],
    request: requestBody("application/json", generationRequestSchema),
    responses: {
      200: imagesOrStreamResponse(imagesResponseSchema, "The images"),
      202: jsonResponse(jobStatusSchema, "The async job that renders them"),
      ...errorResponses,
    },
  },
  requireApiKey,
  rateLimit,
  body("application/json", MAX_JSON_BODY_BYTES),
  async (c) => {
    const fields = parseJsonBody(c.get("bodyBytes"), generationRequestSchema);
    admitImageRequest(c.env, fields.model, { prompt: fields.prompt });
    return answerImageRequest(
      c,
      { operation: "generation", fields },
      {
        responseFormat: responseFormatOf(fields),
        encoding: outputEncodingOf(fields),
        async: fields.async,
        stream: fields.stream
          ? { operation: "generation", partialImages: fields.partial_images ?? 0 }
          : undefined,
      },
    );
  },
);
