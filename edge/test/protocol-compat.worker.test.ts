// Rolling deploys, edge side (Contract 3): today's pool client facing a runner of the previous
// release. That runner has no route for the current version's paths, so the client falls
// back to v1 on the same runner, must send what the released edge sent (recorded byte for byte
// in tests/fixtures/protocol-v1 by scripts/record-protocol.ts), and must read the recorded
// answers, JSON and streamed, into the same result. The runner side:
// tests/protocol-compat.e2e.test.ts.
import { env } from "cloudflare:workers";
import { type Operation, openAiError, type PoolProgressEvent } from "@unclip/shared";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import edit from "../../tests/fixtures/protocol-v1/edit.json";
import generation from "../../tests/fixtures/protocol-v1/generation.json";
import generationEvents from "../../tests/fixtures/protocol-v1/generation-events.json";
import interpolation from "../../tests/fixtures/protocol-v1/interpolation.json";
import variation from "../../tests/fixtures/protocol-v1/variation.json";
import { callPool } from "../src/pool/client.ts";
import { FakePool } from "./pool.ts";

const recordings: [Operation, typeof generation][] = [
  ["generation", generation],
  ["generation", generationEvents],
  ["variation", variation],
  ["edit", edit],
  ["interpolation", interpolation],
];

/** The last `result` event of a recorded event stream. */
function resultOf(stream: string): unknown {
  const block = stream.split("\n\n").findLast((b) => b.startsWith("event: result"));
  return JSON.parse(/^data: (.*)$/m.exec(block ?? "")?.[1] ?? "null");
}

/** The request body with its deadline zeroed: the one field computed anew per call. */
const withoutDeadline = (body: string) => body.replace(/"deadline":\d+/, '"deadline":0');

let pool: FakePool;
beforeEach(() => {
  pool = new FakePool().install();
});
afterEach(() => pool.restore());

describe("today's edge with a runner of the previous release", () => {
  for (const [operation, recording] of recordings) {
    it(`${recording.name}: falls back to v1, sends the released edge's request, reads its answer`, async () => {
      const sent: string[] = [];
      pool.handler = async (call) => {
        if (call.url.pathname !== recording.request.path) {
          // What the released runner answers on a path it does not know (its notFound).
          return Response.json(openAiError(404, `No route POST ${call.url.pathname}`), {
            status: 404,
          });
        }
        sent.push(JSON.stringify(call.body));
        return new Response(recording.answer.body, {
          status: recording.answer.status,
          headers: recording.answer.headers,
        });
      };
      const { deadline: _, ...payload } = JSON.parse(recording.request.body);
      const streamed = recording.request.headers.accept === "text/event-stream";
      const progress: PoolProgressEvent[] = [];
      const result = await callPool(operation, payload, env, {
        ...(streamed ? { onProgress: (event) => progress.push(event) } : {}),
      });

      expect(pool.calls.map((c) => c.url.pathname)).toEqual([
        expect.stringMatching(/^\/v2\//),
        recording.request.path,
      ]);
      expect(pool.calls[1].url.host).toBe(pool.calls[0].url.host);
      expect(withoutDeadline(sent[0])).toBe(withoutDeadline(recording.request.body));
      expect(result).toEqual(
        streamed ? resultOf(recording.answer.body) : JSON.parse(recording.answer.body),
      );
      if (streamed) {
        expect(progress.length).toBeGreaterThan(2);
        expect(progress.at(-1)?.progress).toBe(1);
      }
    });
  }
});
