// GET /openapi.json: the API described from the declared endpoints (http/endpoint.ts) and the
// same shared zod schemas that validate them.
import { z } from "zod";
import { type Endpoint, endpoint } from "../http/endpoint.ts";
import { openApiDocument } from "../http/openapi.ts";

/** The document endpoint of `declared` (which includes this endpoint itself). */
export function openApiJson(declared: () => readonly Endpoint[]): Endpoint {
  return endpoint(
    "get",
    "/openapi.json",
    {
      summary: "This document (OpenAPI 3.1)",
      responses: {
        200: {
          description: "The OpenAPI document",
          content: { "application/json": { schema: z.looseObject({}) } },
        },
      },
    },
    (c) => c.json(openApiDocument(declared(), new URL(c.req.url).origin)),
  );
}
