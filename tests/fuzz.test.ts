// Hostile requests against the Worker (with a real runner behind it): zero 5xx, every answer
// a success or a well-formed OpenAI error. `npm test` sends 1,500; the slow project runs this
// same file with UNCLIP_FUZZ_COUNT=10000.
//
// Requests whose framing lies (Content-Length, chunked encoding) or whose client leaves
// mid-body go over raw sockets: each must get a well-formed 4xx or a closed connection, and
// the stack must serve a normal request afterwards (the local edge's front parses HTTP as
// Cloudflare's does: scripts/edge/front.ts).
import { describe, expect, inject, it } from "vitest";
import { LOCAL_API_KEY } from "../scripts/stack.ts";
import { runFuzz, sendRaw } from "./fuzz/hostile.ts";
import { isPng, postJson, uniqueSeed } from "./support.ts";

const edgeUrl = inject("edgeUrl");
const COUNT = Number(process.env.UNCLIP_FUZZ_COUNT ?? 1500);
const SEED = Number(process.env.UNCLIP_FUZZ_SEED ?? 20261126);

const host = new URL(edgeUrl).host;
/** A request head with the given framing headers, then `body` as it is sent. */
function rawRequest(path: string, contentType: string, framing: string, body: string): string {
  return [
    `POST ${path} HTTP/1.1`,
    `Host: ${host}`,
    `Authorization: Bearer ${LOCAL_API_KEY}`,
    `Content-Type: ${contentType}`,
    "Connection: close",
    framing,
    "",
    body,
  ].join("\r\n");
}
const generation = (framing: string, body: string) =>
  rawRequest("/v1/images/generations", "application/json", framing, body);

async function expectStillServing() {
  const res = await postJson(edgeUrl, "/v1/images/generations", {
    prompt: "a red circle",
    seed: uniqueSeed(),
    response_format: "b64_json",
  });
  expect(res.status).toBe(200);
  const { data } = (await res.json()) as { data: Array<{ b64_json: string }> };
  expect(isPng(Buffer.from(data[0].b64_json, "base64"))).toBe(true);
}

describe("fuzzing the edge", () => {
  it(`answers ${COUNT} generated hostile requests without a 5xx (seed ${SEED})`, async () => {
    const { failures, byStatus } = await runFuzz(edgeUrl, COUNT, SEED);
    console.log(
      `fuzz: ${COUNT} requests, statuses ${JSON.stringify(Object.fromEntries(byStatus))}`,
    );
    expect(failures.slice(0, 5)).toEqual([]);
  }, 900_000);

  it("answers requests whose headers lie about the body with a 4xx OpenAI error or a closed connection, and keeps serving", async () => {
    const body = JSON.stringify({ prompt: "a red circle", seed: 7 });
    const size = Buffer.byteLength(body);
    const cases = {
      "promises more than it sends": [
        generation(`Content-Length: ${size + 50}`, body),
        "half-close",
      ],
      "claims a huge body": [generation("Content-Length: 99999999", body), "half-close"],
      "sends more than it promised": [generation(`Content-Length: ${size - 5}`, body), "wait"],
      "has a negative length": [generation("Content-Length: -1", body), "wait"],
      "has a length that is not a number": [generation("Content-Length: 12abc", body), "wait"],
      "has two different lengths": [
        generation(`Content-Length: ${size}\r\nContent-Length: ${size + 1}`, body),
        "wait",
      ],
      "is both sized and chunked": [
        generation(`Content-Length: ${size}\r\nTransfer-Encoding: chunked`, body),
        "wait",
      ],
      "has a chunk size that is not hex": [
        generation("Transfer-Encoding: chunked", "zz\r\nnot hex\r\n0\r\n\r\n"),
        "wait",
      ],
      "ends before its last chunk": [
        generation("Transfer-Encoding: chunked", `${size.toString(16)}\r\n${body}\r\n`),
        "half-close",
      ],
    } as const;
    const verdicts: Record<string, unknown> = {};
    for (const [name, [bytes, ending]] of Object.entries(cases)) {
      verdicts[name] = await sendRaw(edgeUrl, bytes, ending);
    }
    for (const [name, verdict] of Object.entries(verdicts)) {
      const { ok, status } = verdict as { ok: boolean; status: number };
      expect({ name, ok }, JSON.stringify(verdict)).toEqual({ name, ok: true });
      expect(status === 0 || (status >= 400 && status < 500), `${name}: ${status}`).toBe(true);
    }
    // The refusals the front can give are answers, not just closed connections.
    expect((verdicts["has a negative length"] as { status: number }).status).toBe(400);
    await expectStillServing();
  });

  it("keeps serving after clients leave in the middle of their bodies", async () => {
    const json = generation("Content-Length: 5000", '{"prompt": "a red');
    const boundary = "unclip-aborted";
    const upload = rawRequest(
      "/v1/images/variations",
      `multipart/form-data; boundary=${boundary}`,
      "Content-Length: 3000000",
      `--${boundary}\r\nContent-Disposition: form-data; name="image"; filename="a.png"\r\nContent-Type: image/png\r\n\r\n${"\u0089PNG".padEnd(200_000, "x")}`,
    );
    const chunked = generation("Transfer-Encoding: chunked", '400\r\n{"prompt": ');
    const aborted = await Promise.all(
      Array.from({ length: 24 }, (_, i) =>
        sendRaw(edgeUrl, [json, upload, chunked][i % 3], "abort"),
      ),
    );
    // Whatever came back before the reset must still be well-formed and not a 5xx.
    for (const verdict of aborted) expect(verdict.ok, JSON.stringify(verdict)).toBe(true);
    await expectStillServing();
  });
});
