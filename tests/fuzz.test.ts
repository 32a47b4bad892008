// Hostile requests against the Worker (with a real runner behind it): zero 5xx, every answer
// a success or a well-formed OpenAI error. `npm test` sends 1,500; the slow project runs this
// same file with UNCLIP_FUZZ_COUNT=10000.
//
// Requests whose headers lie about the body are not sent over raw sockets here: they reach
// wrangler dev's local HTTP proxy, not the Worker, and wrangler 4.124's proxy exits when a
// client closes before sending the Content-Length it announced (and answers a plain-text 500
// to "Content-Length: -1"). In production Cloudflare's front end parses HTTP. The Worker's
// own check of declared against streamed size is tested in edge/src/middleware/body.
import { describe, expect, inject, it } from "vitest";
import { runFuzz } from "./fuzz/hostile.ts";

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
});
