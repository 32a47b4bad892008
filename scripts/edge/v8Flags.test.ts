// The local edge's V8 flags against the installed workerd: a trivial Worker under Miniflare,
// requests through Miniflare's entry Worker (as the stack's front sends them), and the
// isolates' heaps read through the inspector without forcing anything.
import { describe, expect, it } from "vitest";
import { freePort } from "../stack.ts";
import { helloWorker } from "./helloWorker.ts";
import { attachWorkerdInspector } from "./inspector.ts";
import { LOCAL_WORKERD_V8_FLAGS, localWorkerdV8Flags } from "./v8Flags.ts";

const REQUESTS = 4000;
const MB = 2 ** 20;

/** How much the heaps of all isolates grew over REQUESTS requests, in bytes. */
async function heapGrowthOver(v8Flags: string[]): Promise<number> {
  const inspectorPort = await freePort();
  // Miniflare reads workerd's V8 flags from this variable when it builds workerd's config.
  const saved = process.env.MINIFLARE_WORKERD_V8_FLAGS;
  process.env.MINIFLARE_WORKERD_V8_FLAGS = v8Flags.join(" ");
  const miniflare = helloWorker(inspectorPort);
  try {
    const url = await miniflare.ready;
    const inspector = await attachWorkerdInspector(inspectorPort);
    const heapUsed = async () =>
      (await inspector.heaps()).reduce((total, heap) => total + heap.used, 0);
    try {
      const before = await heapUsed();
      let sent = 0;
      const client = async () => {
        while (sent++ < REQUESTS) await (await fetch(url)).arrayBuffer();
      };
      await Promise.all(Array.from({ length: 4 }, client));
      return (await heapUsed()) - before;
    } finally {
      await inspector.close();
    }
  } finally {
    await miniflare.dispose();
    if (saved === undefined) delete process.env.MINIFLARE_WORKERD_V8_FLAGS;
    else process.env.MINIFLARE_WORKERD_V8_FLAGS = saved;
  }
}

describe("the local edge's workerd V8 flags", () => {
  it("are ours unless MINIFLARE_WORKERD_V8_FLAGS says otherwise (empty: none)", () => {
    expect(localWorkerdV8Flags({})).toEqual(LOCAL_WORKERD_V8_FLAGS);
    expect(localWorkerdV8Flags({ MINIFLARE_WORKERD_V8_FLAGS: "" })).toEqual([]);
    expect(localWorkerdV8Flags({ MINIFLARE_WORKERD_V8_FLAGS: "--a  --b" })).toEqual(["--a", "--b"]);
  });

  it("keep the garbage of 4,000 requests from piling up in the isolates' heaps", async () => {
    expect(await heapGrowthOver(LOCAL_WORKERD_V8_FLAGS)).toBeLessThan(4 * MB);
  }, 120_000);

  // The control: without flags the same requests leave their garbage in place (workerd issues
  // 6824 and 6894). When this fails, workerd collects on its own and the flags can go.
  it("are needed: without them the same requests leave more than 6 MB of garbage", async () => {
    expect(await heapGrowthOver([])).toBeGreaterThan(6 * MB);
  }, 120_000);
});
