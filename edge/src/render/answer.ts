// The `data` of an images answer: signed, expiring URLs back at this origin, or the PNGs
// inline. Inline answers use the bytes the render handed back; only a job's later status
// read (durable/jobStore.ts) goes back to R2 for them.
import { base64FromBytes, type ImagesResponse } from "@unclip/shared";
import { configOf } from "../config.ts";
import { objectName, readStored } from "../storage/images.ts";
import { grantQuery, signImageObject } from "../storage/signedUrl.ts";
import type { RenderJob } from "./job.ts";

export type ResponseFormat = "url" | "b64_json";

/** How the client asked to receive the images. */
export interface AnswerShape {
  responseFormat: ResponseFormat;
  /** This Worker's origin, for the image URLs. */
  origin: string;
}

export async function imagesData(
  job: Pick<RenderJob, "key" | "count">,
  shape: AnswerShape,
  env: Env,
  images?: Uint8Array[],
): Promise<ImagesResponse["data"]> {
  if (shape.responseFormat === "url") {
    const { IMAGE_URL_SECRET, IMAGE_URL_TTL_SECONDS } = configOf(env);
    return Promise.all(
      Array.from({ length: job.count }, async (_, i) => {
        const name = objectName(job.key, i);
        const grant = await signImageObject(IMAGE_URL_SECRET, name, IMAGE_URL_TTL_SECONDS);
        return { url: `${shape.origin}/v1/images/${name}?${grantQuery(grant)}` };
      }),
    );
  }
  const bytes = images ?? (await readStored(job.key, job.count, env));
  return bytes.slice(0, job.count).map((png) => ({ b64_json: base64FromBytes(png) }));
}
