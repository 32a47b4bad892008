// The OpenAPI 3.1 document of the declared endpoints (http/endpoint.ts), from the same shared
// zod schemas that validate the requests, and the response pieces the declarations share.
import { createRoute, OpenAPIHono } from "@hono/zod-openapi";
import { openAiErrorSchema } from "@unclip/shared";
import type { z } from "zod";
import type { AppEnv } from "../types.ts";
import { type Endpoint, openApiPathOf } from "./endpoint.ts";

const errorDescriptions: Array<[number, string]> = [
  [
    400,
    "Invalid request (also a wrong content type or an image that is not a PNG); `error.param` names the field",
  ],
  [401, "Missing or unknown API key"],
  [403, "An image URL that is unsigned, altered or expired"],
  [404, "Unknown route, image, job or model (`model_not_found`)"],
  [405, "Method not allowed on this route"],
  [413, "Body or image too large"],
  [429, "Rate limit exceeded; see retry-after"],
  [502, "The pool sent an unusable answer"],
  [503, "The pool is unavailable or timed out; see retry-after"],
];

/** The OpenAI error object under each status the API answers with. */
export const errorResponses: Record<number, { description: string; content: object }> =
  Object.fromEntries(
    errorDescriptions.map(([status, description]) => [
      status,
      { description, content: { "application/json": { schema: openAiErrorSchema } } },
    ]),
  );

export const jsonResponse = <S extends z.ZodType>(schema: S, description: string) => ({
  description,
  content: { "application/json": { schema } },
});

/**
 * An images answer, or with `stream: true` the server-sent events of OpenAI's image streaming:
 * `image_generation.partial_image` / `image_edit.partial_image` (b64_json,
 * partial_image_index), then one `*.completed` event, or an `error` event with the error object.
 */
export const imagesOrStreamResponse = <S extends z.ZodType>(schema: S, description: string) => ({
  description: `${description}; with \`stream: true\`, server-sent events: \`*.partial_image\` (partial_images of them, each with b64_json and partial_image_index), then one \`*.completed\` (b64_json), or an \`error\` event carrying the OpenAI error object`,
  content: {
    "application/json": { schema },
    "text/event-stream": { schema: { type: "string" as const } },
  },
});

/** A required request body of one media type (JSON, or a multipart form). */
export const requestBody = <S extends z.ZodType>(
  mediaType: "application/json" | "multipart/form-data",
  schema: S,
) => ({ body: { required: true, content: { [mediaType]: { schema } } } });

export function openApiDocument(endpoints: readonly Endpoint[], origin: string) {
  const registry = new OpenAPIHono<AppEnv>();
  registry.openAPIRegistry.registerComponent("securitySchemes", "bearer", {
    type: "http",
    scheme: "bearer",
  });
  for (const { method, path, doc } of endpoints) {
    registry.openAPIRegistry.registerPath(
      createRoute({ ...doc, method, path: openApiPathOf(path) }),
    );
  }
  return registry.getOpenAPI31Document({
    openapi: "3.1.0",
    info: {
      title: "unclip-edge",
      version: "1.0.0",
      description:
        "OpenAI Images-compatible text-to-image API (unCLIP), with seeds, interpolation and async jobs.",
    },
    servers: [{ url: origin }],
  });
}
