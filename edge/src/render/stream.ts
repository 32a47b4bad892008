// A streamed answer (`stream: true`): server-sent events written as the pool produces them,
// with nothing buffered on the way. A cache hit is one completed event; a miss goes through
// the image service (so identical streams share a flight), each partial encoded in the
// answer's format as it arrives. A failure after the stream began (the pool died, the deadline
// passed) ends it with an `error` event carrying the OpenAI error object, and the units of a
// server failure are refunded, as the rate-limit middleware does for an ordinary answer.
// A client that goes away ends only its own events: the render goes on and is cached.
import { base64FromBytes } from "@unclip/shared";
import { ApiError, asApiError } from "../errors.ts";
import { encodeOutput, type OutputEncoding } from "../images/encode.ts";
import { encodedImage } from "../storage/variants.ts";
import {
  completedEvent,
  partialImageEvent,
  type StreamedOperation,
  type StreamSettings,
  sseOf,
} from "./events.ts";
import type { RenderJob } from "./job.ts";
import { cachedImages, renderMiss } from "./service.ts";

export interface StreamRequest {
  job: RenderJob;
  operation: StreamedOperation;
  partialImages: number;
  encoding: OutputEncoding;
  /** Gives the request's units back (a server failure after the 200 went out). */
  refund(): Promise<unknown>;
  /** The request's `x-request-id`: the pool logs it with the job this stream starts. */
  requestId?: string;
}

export const SSE_HEADERS = {
  "content-type": "text/event-stream; charset=utf-8",
  "cache-control": "no-cache, no-transform",
  // Proxies that buffer (nginx) pass each event on at once.
  "x-accel-buffering": "no",
};

/** The event stream of the answer, and whether it is a cache hit (one completed event). */
export async function streamedAnswer(
  request: StreamRequest,
  env: Env,
  ctx: Pick<ExecutionContext, "waitUntil">,
): Promise<{ events: ReadableStream<Uint8Array>; cacheHit: boolean }> {
  const { job, encoding } = request;
  const settings: StreamSettings = {
    operation: request.operation,
    size: job.size,
    outputFormat: encoding.format,
  };
  // The cache step here, not inside the render: the headers say hit or miss before any event.
  const cached = await cachedImages(job, env, true);
  const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
  const writer = writable.getWriter();
  const bytes = new TextEncoder();
  let clientGone = false;
  const send = async (event: Parameters<typeof sseOf>[0]) => {
    if (clientGone) return;
    await writer.write(bytes.encode(sseOf(event))).catch(() => {
      clientGone = true;
    });
  };
  const completed = async (png: Uint8Array) => {
    const image = await encodedImage(job.key, 0, encoding, env, png);
    await send(completedEvent(settings, base64FromBytes(image!.bytes)));
  };

  const answer = async () => {
    try {
      if (cached) return await completed(cached.images![0]);
      const { images } = await renderMiss(job, env, {
        withImages: true,
        requestId: request.requestId,
        stream: {
          partialImages: request.partialImages,
          // Awaited by the flight before the next partial: events stay in order, and a
          // client that went away is dropped from the flight by the error thrown here.
          onPartial: async (partialIndex: number, png: Uint8Array) => {
            if (clientGone) throw new Error("the stream's client went away");
            const encoded = await encodeOutput(png, encoding);
            await send(partialImageEvent(settings, base64FromBytes(encoded), partialIndex));
          },
        },
      });
      await completed(images![0]);
    } catch (error) {
      const failure =
        asApiError(error) ??
        new ApiError(500, "Rendering failed unexpectedly.", null, "internal_error");
      if (!asApiError(error)) console.error("edge: a streamed answer failed", error);
      if (failure.status >= 500) {
        await request.refund().catch((e: unknown) => {
          console.error("edge: could not refund a failed stream's units", e);
        });
      }
      await send(failure.body);
    } finally {
      await writer.close().catch(() => {});
    }
  };
  // The render outlives a client that leaves: its image is still stored for the next one.
  ctx.waitUntil(answer());
  return { events: readable, cacheHit: cached !== undefined };
}
