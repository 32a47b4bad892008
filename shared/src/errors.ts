// The OpenAI error object, and the one way both sides turn a zod failure into it, so every
// invalid field is reported as `param` + a reason the caller can act on.
import { z } from "zod";

export const openAiErrorSchema = z.strictObject({
  error: z.strictObject({
    message: z.string(),
    type: z.string(),
    param: z.string().nullable(),
    code: z.string().nullable(),
  }),
});
export type OpenAiError = z.infer<typeof openAiErrorSchema>;

/** HTTP statuses the OpenAI SDK maps to its own error classes. */
export type ErrorStatus =
  | 400
  | 401
  | 403
  | 404
  | 405
  | 409
  | 413
  | 415
  | 422
  | 429
  | 500
  | 502
  | 503
  | 504;

export const errorTypeForStatus: Record<ErrorStatus, string> = {
  400: "invalid_request_error",
  401: "authentication_error",
  403: "permission_error",
  404: "invalid_request_error",
  405: "invalid_request_error",
  409: "invalid_request_error",
  413: "invalid_request_error",
  415: "invalid_request_error",
  422: "invalid_request_error",
  429: "rate_limit_error",
  500: "server_error",
  502: "server_error",
  503: "server_error",
  504: "server_error",
};

export function openAiError(
  status: ErrorStatus,
  message: string,
  param: string | null = null,
  code: string | null = null,
): OpenAiError {
  return { error: { message, type: errorTypeForStatus[status], param, code } };
}

/** `["images", 0, "b64"]` → `images[0].b64`, the way OpenAI names nested params. */
export function paramPath(path: ReadonlyArray<PropertyKey>): string | null {
  if (path.length === 0) return null;
  let out = "";
  for (const part of path) {
    if (typeof part === "number") out += `[${part}]`;
    else out += out === "" ? String(part) : `.${String(part)}`;
  }
  return out;
}

/** The first issue of a failed parse, as the OpenAI 400 the SDK turns into BadRequestError. */
export function openAiErrorFromZod(error: z.ZodError): OpenAiError {
  const issue = error.issues[0];
  if (issue.code === "unrecognized_keys") {
    const key = issue.keys[0];
    const at = paramPath([...issue.path, key]);
    return openAiError(
      400,
      `Unrecognized request argument supplied: ${at}`,
      at,
      "unknown_parameter",
    );
  }
  const param = paramPath(issue.path);
  const where = param === null ? "Invalid request body" : `Invalid '${param}'`;
  return openAiError(400, `${where}: ${issue.message}`, param, "invalid_value");
}
