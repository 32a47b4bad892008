// POST /v1/images/interpolations (extension): frames between two prompts (slerp) or along a
// text diff, each frame an image of the job.
import { imagesResponseSchema, interpolationRequestSchema, responseFormatOf } from "@unclip/shared";
import { endpoint } from "../http/endpoint.ts";
import { admitImageRequest, answerImageRequest } from "../http/imageRequest.ts";
import { errorResponses, jsonResponse, requestBody } from "../http/openapi.ts";
import { requireApiKey } from "../middleware/auth/index.ts";
import { body, MAX_JSON_BODY_BYTES, parseJsonBody } from "../middleware/body/index.ts";
import { rateLimit } from "../middleware/ratelimit/index.ts";
import { PNG_ENCODING } from "../storage/variants.ts";

export const interpolations = endpoint(
  "post",
  "/v1/images/interpolations",
  {
    summary: "Frames between two prompts (slerp) or along a text diff (extension)",
    security: [{ bearer: [] }],
    request: requestBody("application/json", interpolationRequestSchema),
    responses: {
      200: jsonResponse(imagesResponseSchema, "One image per frame"),
      ...errorResponses,
    },
  },
  requireApiKey,
  rateLimit,
  body("application/json", MAX_JSON_BODY_BYTES),
  async (c) => {
    const fields = parseJsonBody(c.get("bodyBytes"), interpolationRequestSchema);
    admitImageRequest(c.env, fields.model, {
      prompt: fields.prompt,
      target_prompt: fields.target_prompt,
    });
    return answerImageRequest(
      c,
      { operation: "interpolation", fields },
      { responseFormat: responseFormatOf(fields), encoding: PNG_ENCODING },
    );
  },
);
