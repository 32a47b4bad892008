// The `data` of an images answer: signed, expiring URLs back at this origin, or the images
// inline, in the answer's output format (storage/variants.ts). Inline answers use the bytes
// the render handed back; only a job's later status read (durable/jobStore.ts) goes back to
// R2 for them.
import { base64FromBytes, type ImagesResponse } from "@unclip/shared";
import { configOf } from "../config.ts";
import type { OutputEncoding } from "../images/encode.ts";
import { readStored } from "../storage/images.ts";
import { grantQuery, signImageObject } from "../storage/signedUrl.ts";
import { encodedImage, PNG_ENCODING, variantName } from "../storage/variants.ts";
import type { RenderJob } from "./job.ts";

export type ResponseFormat = "url" | "b64_json";

/** How the client asked to receive the images. */
export interface AnswerShape {
  responseFormat: ResponseFormat;
  /** This Worker's origin, for the image URLs. */
  origin: string;
  /** `output_format` and `output_compression`; absent: PNG (async jobs stored before them). */
  encoding?: OutputEncoding;
}

export async function imagesData(
  job: Pick<RenderJob, "key" | "count">,
  shape: AnswerShape,
  env: Env,
  images?: Uint8Array[],
): Promise<ImagesResponse["data"]> {
  const encoding = shape.encoding ?? PNG_ENCODING;
  if (shape.responseFormat === "url") {
    const { IMAGE_URL_SECRET, IMAGE_URL_TTL_SECONDS } = configOf(env);
    return Promise.all(
      Array.from({ length: job.count }, async (_, i) => {
        const name = variantName(job.key, i, encoding);
        const grant = await signImageObject(IMAGE_URL_SECRET, name, IMAGE_URL_TTL_SECONDS);
        return { url: `${shape.origin}/v1/images/${name}?${grantQuery(grant)}` };
      }),
    );
  }
  const pngs = images ?? (await readStored(job.key, job.count, env));
  return Promise.all(
    pngs.slice(0, job.count).map(async (png, i) => {
      const image = await encodedImage(job.key, i, encoding, env, png);
      return { b64_json: base64FromBytes(image!.bytes) }; // given the PNG, it always answers
    }),
  );
}
