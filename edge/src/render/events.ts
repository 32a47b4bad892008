// OpenAI's image stream events, as the official SDK parses them: `image_generation.*` for
// generations and `image_edit.*` for edits, each an SSE event named by its `type` whose data
// repeats the type; a failure is an `error` event carrying the OpenAI error object, which the
// SDK raises. Also which of a flight's partials each stream receives (thinning).
import { MAX_PARTIAL_IMAGES, type OpenAiError, type OutputFormat } from "@unclip/shared";

export type StreamedOperation = "generation" | "edit";

const EVENT_PREFIX: Record<StreamedOperation, string> = {
  generation: "image_generation",
  edit: "image_edit",
};

/** What every event of one stream repeats: the request's settings as OpenAI echoes them. */
export interface StreamSettings {
  operation: StreamedOperation;
  size: string;
  outputFormat: OutputFormat;
}

function common(settings: StreamSettings, b64: string) {
  return {
    b64_json: b64,
    // This model's images are always opaque; "quality" has no levels here.
    background: "opaque" as const,
    created_at: Math.floor(Date.now() / 1000),
    output_format: settings.outputFormat,
    quality: "auto" as const,
    size: settings.size,
  };
}

export function partialImageEvent(settings: StreamSettings, b64: string, partialIndex: number) {
  return {
    type: `${EVENT_PREFIX[settings.operation]}.partial_image`,
    ...common(settings, b64),
    partial_image_index: partialIndex,
  };
}

export function completedEvent(settings: StreamSettings, b64: string) {
  return {
    type: `${EVENT_PREFIX[settings.operation]}.completed`,
    ...common(settings, b64),
    // OpenAI counts tokens for its GPT image models; a diffusion model has none to count.
    usage: {
      input_tokens: 0,
      input_tokens_details: { image_tokens: 0, text_tokens: 0 },
      output_tokens: 0,
      total_tokens: 0,
    },
  };
}

/** One server-sent event, named by the data's `type` (or `error`). */
export function sseOf(event: { type: string } | OpenAiError): string {
  const name = "type" in event ? event.type : "error";
  return `event: ${name}\ndata: ${JSON.stringify(event)}\n\n`;
}

/**
 * Which of a flight's partials a stream that asked for `wanted` receives, and under which
 * index. The flight renders the partials its first stream asked for (`produced`, at calls
 * j/(produced+1) of the schedule); a stream that joined it takes, for each of its own evenly
 * spaced points i/(wanted+1), the nearest one, numbered 0.. in order. Never more than were
 * produced. Returns flight partial index → the stream's partial index.
 */
export function thinnedPartials(wanted: number, produced: number): Map<number, number> {
  const picked = new Map<number, number>();
  for (let i = 0; i < Math.min(wanted, MAX_PARTIAL_IMAGES); i++) {
    const nearest = Math.round(((i + 1) * (produced + 1)) / (wanted + 1)) - 1;
    const index = Math.min(produced - 1, Math.max(0, nearest));
    if (produced > 0 && !picked.has(index)) picked.set(index, picked.size);
  }
  return picked;
}
