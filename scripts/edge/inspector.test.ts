// The inspector client against a real workerd (a trivial Worker under Miniflare, helloWorker.ts).
import type { Miniflare } from "miniflare";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../stack.ts";
import { HELLO_ISOLATE, helloWorker } from "./helloWorker.ts";
import { attachWorkerdInspector } from "./inspector.ts";

let miniflare: Miniflare;
let inspectorPort: number;

beforeAll(async () => {
  inspectorPort = await freePort();
  miniflare = helloWorker(inspectorPort);
  await miniflare.ready;
});

afterAll(() => miniflare.dispose());

describe("the workerd inspector client", () => {
  it("reads every isolate's heap and forces a GC in each isolate a request reaches", async () => {
    const inspector = await attachWorkerdInspector(inspectorPort);
    try {
      const heaps = await inspector.heaps();
      expect(heaps.map((h) => h.isolate).sort()).toEqual([...inspector.isolates].sort());
      expect(heaps.every((h) => h.used > 0 && h.total >= h.used)).toBe(true);
      const { missed } = await inspector.collectGarbage(async () => {
        await (await miniflare.dispatchFetch("http://localhost/")).text();
      }, 2000);
      // the request passes Miniflare's entry Worker and the Worker: both ran their GC; the
      // isolates it did not reach (cache, outbound…) run no task, so they are reported missed
      expect(missed).not.toContain("core:entry");
      expect(missed).not.toContain(HELLO_ISOLATE);
      expect(missed.length).toBe(inspector.isolates.length - 2);
    } finally {
      await inspector.close();
    }
  });

  it("fails a call made after the socket closed instead of waiting for an answer that never comes", async () => {
    const inspector = await attachWorkerdInspector(inspectorPort);
    await inspector.close();
    await expect(inspector.heaps()).rejects.toThrow(/closed before Runtime.getHeapUsage/);
  });
});
