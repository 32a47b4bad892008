// Rolling deploys across the edge ↔ pool protocol (Contract 3): requests of the previous
// version, recorded byte for byte from the released edge (tests/fixtures/protocol-v1,
// scripts/record-protocol.ts), replayed against today's runner: same bytes, same signature,
// at the time it was signed; it must answer as the released runner did, in v1's exact shape.
// The other half, today's edge reading the recorded answers, runs inside workerd:
// edge/test/protocol-compat.worker.test.ts.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { type Operation, poolResponseSchemas } from "@unclip/shared";
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
function untimed(answer: unknown): unknown {
  const { timings_ms: _, ...rest } = answer as Record<string, unknown>;
  return rest;
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
        expect(untimed(result)).toEqual(untimed(expected.at(-1)?.data));
      } else {
        const answer = JSON.parse(text);
        expect(poolResponseSchemas[1].safeParse(answer).success).toBe(true);
        expect(untimed(answer)).toEqual(untimed(JSON.parse(exchange.answer.body)));
      }
    });
  }
});
