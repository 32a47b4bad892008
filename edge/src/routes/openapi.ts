// GET /openapi.json: the API described from the same shared zod schemas that validate it.
import { createRoute, OpenAPIHono } from "@hono/zod-openapi";
import {
  editFieldsSchema,
  generationRequestSchema,
  imagesResponseSchema,
  interpolationRequestSchema,
  jobStatusSchema,
  modelListSchema,
  modelSchema,
  openAiErrorSchema,
  variationFieldsSchema,
} from "@unclip/shared";
import { z } from "zod";
import type { AppEnv } from "../types.ts";

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
const errorResponses: Record<number, { description: string; content: object }> = Object.fromEntries(
  errorDescriptions.map(([status, description]) => [
    status,
    { description, content: { "application/json": { schema: openAiErrorSchema } } },
  ]),
);

const json = <S extends z.ZodType>(schema: S, description: string) => ({
  description,
  content: { "application/json": { schema } },
});

const variationFormSchema = variationFieldsSchema.extend({
  image: z.any().meta({ type: "string", format: "binary", description: "Square PNG, ≤ 4 MB" }),
});

const editFormSchema = editFieldsSchema.extend({
  image: z.any().meta({ type: "string", format: "binary", description: "Square PNG, ≤ 4 MB" }),
  mask: z.any().optional().meta({
    type: "string",
    format: "binary",
    description: "PNG of the image's size; fully transparent pixels are redrawn",
  }),
});

export const apiRoutes = [
  createRoute({
    method: "post",
    path: "/v1/images/generations",
    summary:
      "Create images from a prompt (OpenAI-compatible; `async: true` answers 202 with a job)",
    security: [{ bearer: [] }],
    request: {
      body: {
        required: true,
        content: { "application/json": { schema: generationRequestSchema } },
      },
    },
    responses: {
      200: json(imagesResponseSchema, "The images"),
      202: json(jobStatusSchema, "The async job that renders them"),
      ...errorResponses,
    },
  }),
  createRoute({
    method: "post",
    path: "/v1/images/variations",
    summary: "Create variations of a square PNG (OpenAI-compatible)",
    security: [{ bearer: [] }],
    request: {
      body: { required: true, content: { "multipart/form-data": { schema: variationFormSchema } } },
    },
    responses: { 200: json(imagesResponseSchema, "The images"), ...errorResponses },
  }),
  createRoute({
    method: "post",
    path: "/v1/images/edits",
    summary: "Redraw the masked area of a square PNG from a prompt (OpenAI-compatible)",
    security: [{ bearer: [] }],
    request: {
      body: { required: true, content: { "multipart/form-data": { schema: editFormSchema } } },
    },
    responses: { 200: json(imagesResponseSchema, "The images"), ...errorResponses },
  }),
  createRoute({
    method: "post",
    path: "/v1/images/interpolations",
    summary: "Frames between two prompts (slerp) or along a text diff (extension)",
    security: [{ bearer: [] }],
    request: {
      body: {
        required: true,
        content: { "application/json": { schema: interpolationRequestSchema } },
      },
    },
    responses: { 200: json(imagesResponseSchema, "One image per frame"), ...errorResponses },
  }),
  createRoute({
    method: "get",
    path: "/v1/images/{key}/{file}",
    summary:
      "A stored image, through the signed URL an answer carried (valid IMAGE_URL_TTL_SECONDS, one hour by default; ETag and If-None-Match)",
    request: {
      params: z.object({
        key: z.string().regex(/^[0-9a-f]{64}$/),
        file: z.string().regex(/^[0-9]+\.png$/),
      }),
      query: z.object({
        expires: z.string().regex(/^[0-9]+$/),
        signature: z.string().regex(/^[0-9a-f]{64}$/),
      }),
    },
    responses: {
      200: {
        description: "The PNG",
        content: { "image/png": { schema: z.any().meta({ type: "string", format: "binary" }) } },
      },
      304: { description: "Not modified" },
      403: errorResponses[403],
      404: errorResponses[404],
    },
  }),
  createRoute({
    method: "get",
    path: "/v1/models",
    summary: "The served bundle and its `dall-e-2` alias (OpenAI-compatible)",
    security: [{ bearer: [] }],
    responses: { 200: json(modelListSchema, "The models"), 401: errorResponses[401] },
  }),
  createRoute({
    method: "get",
    path: "/v1/models/{id}",
    summary: "One model (OpenAI-compatible)",
    security: [{ bearer: [] }],
    request: { params: z.object({ id: z.string() }) },
    responses: { 200: json(modelSchema, "The model"), 404: errorResponses[404] },
  }),
  createRoute({
    method: "get",
    path: "/v1/jobs/{id}",
    summary: "Status of an async job (extension)",
    security: [{ bearer: [] }],
    request: { params: z.object({ id: z.string() }) },
    responses: { 200: json(jobStatusSchema, "The job"), 404: errorResponses[404] },
  }),
  createRoute({
    method: "get",
    path: "/v1/jobs/{id}/events",
    summary:
      "Server-sent events of an async job: `progress` ({id, status, progress, stage?, step?, total?}) then `result` or `error` (the job status)",
    security: [{ bearer: [] }],
    request: { params: z.object({ id: z.string() }) },
    responses: {
      200: {
        description: "text/event-stream",
        content: { "text/event-stream": { schema: z.string() } },
      },
      404: errorResponses[404],
    },
  }),
];

export function openApiDocument(origin: string) {
  const registry = new OpenAPIHono<AppEnv>();
  registry.openAPIRegistry.registerComponent("securitySchemes", "bearer", {
    type: "http",
    scheme: "bearer",
  });
  for (const route of apiRoutes) registry.openAPIRegistry.registerPath(route);
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
