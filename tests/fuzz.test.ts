// Hostile requests against the Worker (with a real runner behind it): zero 5xx, every answer
// a success or a well-formed OpenAI error. `npm test` sends 1,500; the slow project runs this
// same file with UNCLIP_FUZZ_COUNT=10000.
import { describe, expect, inject, it } from "vitest";
import { LOCAL_API_KEY } from "../scripts/stack.ts";
import { runFuzz, sendRaw } from "./fuzz/hostile.ts";

const edgeUrl = inject("edgeUrl");
const COUNT = Number(process.env.UNCLIP_FUZZ_COUNT ?? 1500);
const SEED = Number(process.env.UNCLIP_FUZZ_SEED ?? 20261126);

describe("fuzzing the edge", () => {
  it(`answers ${COUNT} generated hostile requests without a 5xx (seed ${SEED})`, async () => {
    const { failures, byStatus } = await runFuzz(edgeUrl, COUNT, SEED);
    console.log(
      `fuzz: ${COUNT} requests, statuses ${JSON.stringify(Object.fromEntries(byStatus))}`,
    );
    expect(failures.slice(0, 5)).toEqual([]);
  }, 900_000);

  it("answers requests whose headers lie about the body with a 4xx, never a 5xx", async () => {
    const host = new URL(edgeUrl).host;
    const auth = `Authorization: Bearer ${LOCAL_API_KEY}`;
    const head = (extra: string) =>
      `POST /v1/images/generations HTTP/1.1\r\nHost: ${host}\r\n${auth}\r\nContent-Type: application/json\r\nConnection: close\r\n${extra}`;
    const body = JSON.stringify({ prompt: "a red circle" });
    const statuses = [
      await sendRaw(edgeUrl, head(`Content-Length: ${body.length + 50}`), body), // promises more than it sends
      await sendRaw(edgeUrl, head("Content-Length: 99999999"), body), // claims a huge body
      await sendRaw(edgeUrl, head("Transfer-Encoding: chunked"), "zz\r\nnot hex\r\n0\r\n\r\n"),
      await sendRaw(edgeUrl, head("Content-Length: -1"), body),
    ];
    for (const status of statuses) {
      // 0: the server closed the connection on a malformed message, which is also fine.
      expect(status === 0 || (status >= 400 && status < 500), `status ${status}`).toBe(true);
    }
  });
});
