import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { formatServerSentEvent, parseServerSentEvents, type ServerSentEvent } from "./sse.ts";

function streamOf(chunks: string[]): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  return new ReadableStream({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(encoder.encode(chunk));
      controller.close();
    },
  });
}

async function collect(chunks: string[]): Promise<ServerSentEvent[]> {
  const events: ServerSentEvent[] = [];
  for await (const event of parseServerSentEvents(streamOf(chunks))) events.push(event);
  return events;
}

describe("server-sent events", () => {
  it("parses named events, multi-line data, comments and CRLF line ends", async () => {
    const events = await collect([
      ": keep-alive\n\n",
      'event: progress\r\ndata: {"a":1}\r\n\r\n',
      "data: line one\ndata: line two\n\n",
      "event: result\ndata: done",
    ]);
    expect(events).toEqual([
      { event: "progress", data: '{"a":1}' },
      { event: "message", data: "line one\nline two" },
      { event: "result", data: "done" },
    ]);
  });

  it("reads the same events however the bytes are split into chunks", async () => {
    const text = [
      formatServerSentEvent("progress", { stage: "decoder", progress: 0.5 }),
      formatServerSentEvent("result", { images: ["ü"] }),
    ].join("");
    const whole = await collect([text]);
    const bytes = new TextEncoder().encode(text);
    await fc.assert(
      fc.asyncProperty(fc.array(fc.nat(bytes.length), { maxLength: 6 }), async (cuts) => {
        const points = [0, ...[...new Set(cuts)].sort((a, b) => a - b), bytes.length];
        const stream = new ReadableStream<Uint8Array>({
          start(controller) {
            for (let i = 0; i + 1 < points.length; i++) {
              controller.enqueue(bytes.slice(points[i], points[i + 1]));
            }
            controller.close();
          },
        });
        const events: ServerSentEvent[] = [];
        for await (const event of parseServerSentEvents(stream)) events.push(event);
        expect(events).toEqual(whole);
      }),
      { numRuns: 50 },
    );
  });

  it("cancels the rest of the stream when the reader stops early", async () => {
    let cancelled = false;
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode("event: result\ndata: 1\n\n"));
      },
      cancel() {
        cancelled = true;
      },
    });
    for await (const event of parseServerSentEvents(stream)) {
      expect(event.event).toBe("result");
      break;
    }
    expect(cancelled).toBe(true);
  });
});
