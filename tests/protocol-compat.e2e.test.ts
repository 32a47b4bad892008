// Rolling deploys across the edge ↔ pool protocol (Contract 3, docs/ARCHITECTURE.md): requests of the previous
// version, recorded byte for byte from the released edge (tests/fixtures/protocol-v1,
// scripts/record-protocol.ts), replayed against today's runner: same bytes, same signature,
// at the time it was signed; it must answer as the released runner did, in v1's exact shape
// (pixels to within one level: see expectSameAnswer).
// The other half, today's edge reading the recorded answers, runs inside workerd:
// edge/test/protocol-compat.worker.test.ts.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { type Operation, poolResponseSchemas } from "@unclip/shared";
import { decode } from "fast-png";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { parseConfig } from "../gpu-runner/src/config.ts";
import { loadRunner } from "../gpu-runner/src/inProcess.ts";
import { RunnerMetrics } from "../gpu-runner/src/metrics.ts";
import type { Runner } from "../gpu-runner/src/runner.ts";
import { createApp } from "../gpu-runner/src/server.ts";
import type { RecordedExchange } from "../scripts/record-protocol.ts";
import { REPO_ROOT } from "../scripts/stack.ts";

const FIXTURES = join(REPO_ROOT, "tests/fixtures/protocol-v1");
const recorded: RecordedExchange[] = readdirSync(FIXTURES)
  .filter((name) => name.endsWith(".json"))
  .sort()
  .map((name) => JSON.parse(readFileSync(join(FIXTURES, name), "utf8")) as RecordedExchange);

/** Which operation each recorded exchange asked for (the fixtures name the client call). */
const operationOf: Record<string, Operation> = {
  generation: "generation",
  "generation-events": "generation",
  variation: "variation",
  edit: "edit",
  interpolation: "interpolation",
};

interface ServerSentEvent {
  event: string;
  data: unknown;
}

function eventsOf(text: string): ServerSentEvent[] {
  return text
    .split("\n\n")
    .filter((block) => block.trim() !== "")
    .map((block) => ({
      event: /^event: (.*)$/m.exec(block)?.[1] ?? "message",
      data: JSON.parse(/^data: (.*)$/m.exec(block)?.[1] ?? "null"),
    }));
}

/** An answer without its timings, the one part that differs from run to run. */
interface AnswerImage {
  index: number;
  png_b64: string;
  sha256: string;
  width: number;
  height: number;
}

/**
 * The answer is the recorded one: the same fields, images and sizes, and the same pixels to
 * within one level. Not byte-equal PNGs: the recording was made under onnxruntime-node 1.30,
 * and the runner now pins 1.29.0 (the version the CUDA check runs), whose kernels round a few
 * pixels differently; that is the runtime's arithmetic, not the protocol.
 */
function expectSameAnswer(got: unknown, want: unknown) {
  const { timings_ms: _g, images: gotImages, ...gotRest } = got as Record<string, unknown>;
  const { timings_ms: _w, images: wantImages, ...wantRest } = want as Record<string, unknown>;
  expect(gotRest).toEqual(wantRest);
  const a = gotImages as AnswerImage[];
  const b = wantImages as AnswerImage[];
  expect(a.map(({ index, width, height }) => ({ index, width, height }))).toEqual(
    b.map(({ index, width, height }) => ({ index, width, height })),
  );
  for (let i = 0; i < a.length; i++) {
    const x = decode(Buffer.from(a[i].png_b64, "base64")).data;
    const y = decode(Buffer.from(b[i].png_b64, "base64")).data;
    expect(x.length).toBe(y.length);
    let worst = 0;
    for (let k = 0; k < x.length; k++) worst = Math.max(worst, Math.abs(x[k] - y[k]));
    expect(worst, `image ${i}: max |Δ| in levels`).toBeLessThanOrEqual(1);
  }
}

it("has recordings of every operation, JSON and streamed", () => {
  expect(new Set(recorded.map((r) => operationOf[r.name]))).toEqual(
    new Set(["generation", "variation", "edit", "interpolation"]),
  );
  expect(recorded.some((r) => r.request.headers.accept === "text/event-stream")).toBe(true);
  for (const exchange of recorded) expect(exchange.request.path).toMatch(/^\/v1\//);
});

describe("today's runner answers the previous version's recorded requests", () => {
  let runner: Runner;
  beforeAll(async () => {
    // The configuration the recording runner ran with (scripts/stack.ts: the defaults).
    const config = parseConfig({ UNCLIP_BUNDLE: join(REPO_ROOT, "models/tiny-test") });
    ({ runner } = await loadRunner(config, {
      metrics: new RunnerMetrics({ defaultMetrics: false }),
    }));
  });
  afterAll(() => runner?.release());
  afterEach(() => vi.useRealTimers());

  for (const exchange of recorded) {
    it(`${exchange.name}: same bytes, same signature, same images`, async () => {
      const app = createApp(runner, { secrets: [exchange.secret] });
      // Replayed at the moment it was signed: its signature and deadline hold as they did then.
      vi.useFakeTimers({ toFake: ["Date"] });
      vi.setSystemTime(Number(exchange.request.headers["x-unclip-timestamp"]));
      const res = await app.request(exchange.request.path, {
        method: exchange.request.method,
        headers: exchange.request.headers,
        body: exchange.request.body,
      });
      const text = await res.text();
      expect(res.status, text.slice(0, 300)).toBe(exchange.answer.status);
      expect(res.headers.get("content-type")).toContain(exchange.answer.headers["content-type"]);
      if (exchange.answer.headers["content-type"].startsWith("text/event-stream")) {
        const events = eventsOf(text);
        const expected = eventsOf(exchange.answer.body);
        expect(events.map((e) => e.event)).toEqual(expected.map((e) => e.event));
        expect(events.slice(0, -1)).toEqual(expected.slice(0, -1));
        const result = events.at(-1)?.data;
        // Parsed as a v1 edge parses it: strictly, no field it does not know.
        expect(poolResponseSchemas[1].safeParse(result).success).toBe(true);
        expectSameAnswer(result, expected.at(-1)?.data);
      } else {
        const answer = JSON.parse(text);
        expect(poolResponseSchemas[1].safeParse(answer).success).toBe(true);
        expectSameAnswer(answer, JSON.parse(exchange.answer.body));
      }
    });
  }
});
