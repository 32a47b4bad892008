// CORS through the Worker: wrangler.toml's local default allows any port of localhost and
// 127.0.0.1; these tests send the Origin a browser would.
import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { DEV_KEY, newApiKey, ORIGIN } from "../../../test/helpers.ts";
import { allowedOrigin, EXPOSED_HEADERS } from "./index.ts";

const PAGE = "http://127.0.0.1:5173";

function preflight(origin: string, path = "/v1/images/generations") {
  return SELF.fetch(`${ORIGIN}${path}`, {
    method: "OPTIONS",
    headers: {
      origin,
      "access-control-request-method": "POST",
      "access-control-request-headers": "authorization, content-type, x-stainless-os",
    },
  });
}

describe("allowedOrigin", () => {
  const patterns = ["https://app.example.com", "http://localhost:*"];
  it("grants exact origins and any port of a wildcard host", () => {
    expect(allowedOrigin("https://app.example.com", patterns)).toBe("https://app.example.com");
    expect(allowedOrigin("http://localhost:3000", patterns)).toBe("http://localhost:3000");
    expect(allowedOrigin("*", ["*"])).toBe("*");
    expect(allowedOrigin("https://anything.test", ["*"])).toBe("*");
  });

  it("refuses look-alikes: another scheme, port, subdomain or suffix", () => {
    for (const origin of [
      "http://app.example.com",
      "https://app.example.com:8443",
      "https://evil.app.example.com",
      "https://app.example.com.evil.test",
      "http://localhost",
      "http://localhost:3000.evil.test",
      "http://localhost.evil.test:3000",
      "null",
    ]) {
      expect(allowedOrigin(origin, patterns), origin).toBeNull();
    }
    expect(allowedOrigin(undefined, patterns)).toBeNull();
    expect(allowedOrigin("https://app.example.com", [])).toBeNull();
  });
});

describe("CORS on the Worker", () => {
  it("answers a preflight from an allowed origin with 204 and the grant", async () => {
    const res = await preflight(PAGE);
    expect(res.status).toBe(204);
    expect(res.headers.get("access-control-allow-origin")).toBe(PAGE);
    expect(res.headers.get("access-control-allow-methods")).toContain("POST");
    // A header list: hono/cors joins it with "," where the request used ", ".
    expect(res.headers.get("access-control-allow-headers")?.split(/,\s*/)).toEqual([
      "authorization",
      "content-type",
      "x-stainless-os",
    ]);
    expect(res.headers.get("vary")).toContain("Origin");
  });

  it("gives a disallowed origin no Access-Control header, on the preflight or the answer", async () => {
    const pre = await preflight("https://evil.test");
    expect(pre.status).toBe(405);
    const answer = await SELF.fetch(`${ORIGIN}/v1/models`, {
      headers: { origin: "https://evil.test", authorization: `Bearer ${DEV_KEY}` },
    });
    expect(answer.status).toBe(200);
    for (const res of [pre, answer]) {
      const granted = [...res.headers.keys()].filter((k) => k.startsWith("access-control-"));
      expect(granted).toEqual([]);
      expect(res.headers.get("vary")).toContain("Origin");
      await res.arrayBuffer();
    }
  });

  it("grants and exposes headers on successes and on errors (401, 404, 429)", async () => {
    const tiny = await newApiKey({ burst: 1, rate_per_minute: 0.01 });
    const requests: Array<[string, RequestInit, number]> = [
      ["/v1/models", { headers: { authorization: `Bearer ${DEV_KEY}` } }, 200],
      ["/v1/models", {}, 401],
      ["/v1/nope", {}, 404],
    ];
    for (const [path, init, status] of requests) {
      const res = await SELF.fetch(`${ORIGIN}${path}`, {
        ...init,
        headers: { ...(init.headers as Record<string, string>), origin: PAGE },
      });
      expect(res.status, path).toBe(status);
      expect(res.headers.get("access-control-allow-origin")).toBe(PAGE);
      await res.arrayBuffer();
    }
    const costly = (key: string) =>
      SELF.fetch(`${ORIGIN}/v1/images/generations`, {
        method: "POST",
        headers: {
          origin: PAGE,
          authorization: `Bearer ${key}`,
          "content-type": "application/json",
        },
        body: JSON.stringify({ prompt: "a red circle", size: "1024x1024" }),
      });
    const limited = await costly(tiny);
    expect(limited.status).toBe(429);
    expect(limited.headers.get("access-control-allow-origin")).toBe(PAGE);
    const exposed = limited.headers.get("access-control-expose-headers")!.split(/,\s*/);
    expect(exposed).toEqual(EXPOSED_HEADERS);
    for (const name of ["retry-after", "x-ratelimit-remaining-requests", "x-unclip-cache"]) {
      expect(exposed).toContain(name);
    }
    expect(limited.headers.get("retry-after")).toMatch(/^\d+$/);
    await limited.arrayBuffer();
  });
});
