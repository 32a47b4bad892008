// CORS in a real browser: a page served from another origin (another local port) calls
// generations and fetches the signed image; a page from an origin the edge does not allow
// is refused by the browser itself. wrangler.toml's local default allows any port of
// 127.0.0.1 and localhost; `disallowed.test` is mapped to 127.0.0.1 inside Chromium only.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { LOCAL_API_KEY } from "../scripts/stack.ts";
import { launchChromium, SKIP_BROWSER } from "./chromium.ts";
import { uniqueSeed } from "./support.ts";

const edgeUrl = inject("edgeUrl");

interface CrossOriginOutcome {
  error?: string;
  status?: number;
  cache?: string | null;
  remaining?: string | null;
  imageStatus?: number;
  imageBytes?: number;
}

/** Runs in the page: what a browser app on that page's origin would do. */
async function callGenerations(args: { edgeUrl: string; key: string; seed: number }) {
  try {
    const res = await fetch(`${args.edgeUrl}/v1/images/generations`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${args.key}`,
        "content-type": "application/json",
        // Sent by the openai SDK in browsers: a preflight must allow what the page asks for.
        "x-stainless-lang": "js",
      },
      body: JSON.stringify({ prompt: "a red circle", n: 1, size: "256x256", seed: args.seed }),
    });
    const body = (await res.json()) as { data: Array<{ url: string }> };
    const image = await fetch(body.data[0].url);
    return {
      status: res.status,
      cache: res.headers.get("x-unclip-cache"),
      remaining: res.headers.get("x-ratelimit-remaining-requests"),
      imageStatus: image.status,
      imageBytes: (await image.arrayBuffer()).byteLength,
    };
  } catch (error) {
    return { error: String(error) };
  }
}

describe.skipIf(SKIP_BROWSER)("CORS in Chromium", () => {
  let browser: Browser;
  let pages: Server;
  let port: number;

  beforeAll(async () => {
    pages = createServer((_req, res) => {
      res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
      res.end("<!doctype html><title>another origin</title><p>a browser app</p>");
    });
    await new Promise<void>((r) => pages.listen(0, "127.0.0.1", r));
    port = (pages.address() as AddressInfo).port;
    browser = await launchChromium(["--host-resolver-rules=MAP disallowed.test 127.0.0.1"]);
  });
  afterAll(async () => {
    await browser?.close();
    await new Promise((r) => pages?.close(r));
  });

  it("lets a page on another local port call generations and read the headers it exposes", async () => {
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${port}/`);
    expect(new URL(page.url()).origin).not.toBe(new URL(edgeUrl).origin);
    const outcome: CrossOriginOutcome = await page.evaluate(callGenerations, {
      edgeUrl,
      key: LOCAL_API_KEY,
      seed: uniqueSeed(),
    });
    expect(outcome).toEqual({
      status: 200,
      cache: "miss",
      remaining: expect.stringMatching(/^\d+$/),
      imageStatus: 200,
      imageBytes: expect.any(Number),
    });
    expect(outcome.imageBytes).toBeGreaterThan(8);
    await page.close();
  });

  it("refuses a page from an origin the edge does not allow: the browser blocks the answer", async () => {
    const page = await browser.newPage();
    const messages: string[] = [];
    page.on("console", (message) => messages.push(message.text()));
    await page.goto(`http://disallowed.test:${port}/`);
    const outcome: CrossOriginOutcome = await page.evaluate(callGenerations, {
      edgeUrl,
      key: LOCAL_API_KEY,
      seed: uniqueSeed(),
    });
    expect(outcome.error).toMatch(/TypeError: Failed to fetch/);
    expect(messages.join("\n")).toMatch(/blocked by CORS policy/);
    await page.close();
  });
});
