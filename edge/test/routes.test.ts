// Every endpoint is declared once (http/endpoint.ts); this checks that the one declaration
// reaches both places that are derived from it: /openapi.json and the 405 answers.
import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { endpoints } from "../src/app.ts";
import { openApiPathOf } from "../src/http/endpoint.ts";
import { errorOf, ORIGIN } from "./helpers.ts";

/** A value each path parameter's pattern accepts, by parameter name and route. */
const sampleParams: Record<string, string> = {
  key: "ab".repeat(32),
  file: "0.png",
  id: `job_${"0".repeat(32)}`,
};

/** A concrete URL path for a declared Hono path; throws for a parameter with no sample. */
function samplePath(honoPath: string): string {
  return honoPath.replace(
    /:([A-Za-z_][A-Za-z0-9_]*)(\{(?:[^{}]|\{[^{}]*\})*\})?/g,
    (_, name: string, pattern: string | undefined) => {
      const value = honoPath.startsWith("/v1/models/") ? "dall-e-2" : sampleParams[name];
      if (value === undefined) throw new Error(`routes.test.ts: add a sample for :${name}`);
      if (pattern && !new RegExp(`^${pattern.slice(1, -1)}$`).test(value)) {
        throw new Error(`routes.test.ts: the sample for :${name} does not match ${pattern}`);
      }
      return value;
    },
  );
}

describe("declared routes", () => {
  it("turns Hono paths into OpenAPI paths, patterns dropped", () => {
    expect(openApiPathOf("/v1/images/:key{[0-9a-f]{64}}/:file{[0-9]+\\.png}")).toBe(
      "/v1/images/{key}/{file}",
    );
    expect(openApiPathOf("/v1/jobs/:id{job_[0-9a-f]{32}}/events")).toBe("/v1/jobs/{id}/events");
    expect(openApiPathOf("/v1/models/:id{.+}")).toBe("/v1/models/{id}");
    expect(openApiPathOf("/healthz")).toBe("/healthz");
  });

  it("describes every declared route, with its method, in /openapi.json", async () => {
    const res = await SELF.fetch(`${ORIGIN}/openapi.json`);
    const doc = (await res.json()) as { paths: Record<string, Record<string, unknown>> };
    const described = Object.entries(doc.paths).flatMap(([path, methods]) =>
      Object.keys(methods).map((method) => `${method} ${path}`),
    );
    const declared = endpoints.map((e) => `${e.method} ${openApiPathOf(e.path)}`);
    expect(new Set(declared).size).toBe(declared.length);
    expect(described.sort()).toEqual(declared.sort());
  });

  it("answers every declared route's wrong methods with 405 and the declared ones in Allow", async () => {
    const byPath = new Map<string, string[]>();
    for (const e of endpoints) {
      const methods = byPath.get(e.path) ?? [];
      methods.push(...(e.method === "get" ? ["GET", "HEAD"] : ["POST"]));
      byPath.set(e.path, methods);
    }
    for (const [path, allowed] of byPath) {
      const url = `${ORIGIN}${samplePath(path)}`;
      for (const wrong of ["GET", "POST", "PUT", "DELETE", "PATCH"].filter(
        (m) => !allowed.includes(m),
      )) {
        const res = await SELF.fetch(url, { method: wrong });
        expect(res.status, `${wrong} ${path}`).toBe(405);
        expect(res.headers.get("allow"), `${wrong} ${path}`).toBe(allowed.join(", "));
        expect((await errorOf(res)).code).toBe("method_not_allowed");
      }
    }
  });
});
