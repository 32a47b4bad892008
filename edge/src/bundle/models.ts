// The served bundle as OpenAI model objects, and the one check of a request's `model` field
// that every image route calls. `dall-e-2` is an alias of the bundle: OpenAI's Images API
// defaults to it and clients written for OpenAI name it, so they work unchanged.
import type { Model } from "@unclip/shared";
import { ApiError } from "../errors.ts";
import { type ServedBundle, servedBundle } from "./index.ts";

export const DALL_E_2_ALIAS = "dall-e-2";
const OWNER = "unclip-edge";

/** A calendar version ("2026.11.26", how training/ stamps bundles) as Unix seconds, else 0. */
export function createdOf(version: string): number {
  const match = /^(\d{4})\.(\d{1,2})\.(\d{1,2})$/.exec(version);
  if (!match) return 0;
  return Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3])) / 1000;
}

/** The bundle first (its id is `name@version`), then the alias. */
export function servedModels(bundle: ServedBundle = servedBundle): Model[] {
  const created = createdOf(bundle.manifest.version);
  return [bundle.id, DALL_E_2_ALIAS].map((id) => ({
    id,
    object: "model",
    created,
    owned_by: OWNER,
  }));
}

/** OpenAI's answer for a model it does not serve: 404 `model_not_found`. */
export function modelNotFound(model: string): ApiError {
  return new ApiError(
    404,
    `The model \`${model}\` does not exist or you do not have access to it.`,
    "model",
    "model_not_found",
  );
}

/** Accepts an absent `model`, the bundle's id and `dall-e-2`; throws the 404 otherwise. */
export function requireServedModel(
  model: string | null | undefined,
  bundle: ServedBundle = servedBundle,
): void {
  if (model === undefined || model === null) return;
  if (!servedModels(bundle).some((served) => served.id === model)) throw modelNotFound(model);
}
