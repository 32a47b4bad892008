// The pool HTTP boundary in Worker tests: global fetch is intercepted for the test runners'
// hosts only (*.test); everything else in the Worker — R2, KV, Durable Objects — is real.
// Each fake runner checks the request signature with the shared verifier, like the real one.
import {
  base64FromBytes,
  OPERATIONS,
  type PoolResponse,
  PROTOCOL_VERSION,
  PROTOCOL_VERSIONS,
  poolPathOf,
  poolRequestSchemas,
  poolResponseIn,
  sha256Hex,
  verifyRequest,
} from "@unclip/shared";
import { vi } from "vitest";
import { servedBundle } from "../src/bundle/index.ts";
import { solidPng } from "./png.ts";

export const TEST_POOL_SECRET = "test-pool-secret";

export interface PoolCall {
  url: URL;
  body: Record<string, unknown>;
  headers: Headers;
}

export type PoolHandler = (call: PoolCall, signal: AbortSignal | undefined) => Promise<Response>;

/** Each job path of every protocol version the edge may speak, with its request schema. */
const schemas = new Map<string, { parse(v: unknown): unknown }>(
  PROTOCOL_VERSIONS.flatMap((version) =>
    OPERATIONS.map((operation) => [poolPathOf(operation, version), poolRequestSchemas[operation]]),
  ),
);

/**
 * A runner that renders `n` (or `frames`) solid PNGs of the requested size, answering in the
 * protocol version of the path it was called on, as a real runner does.
 */
export async function renderedResponse(call: PoolCall): Promise<PoolResponse> {
  const body = call.body as {
    n?: number;
    frames?: number;
    size: string;
    bundle: string;
    seed: number;
  };
  const count = body.n ?? body.frames ?? 1;
  const side = Number.parseInt(body.size, 10);
  const images = await Promise.all(
    Array.from({ length: count }, async (_, index) => {
      const png = await solidPng(side, side, [(body.seed + index) % 256, 40, 40]);
      return {
        index,
        png_b64: base64FromBytes(png),
        sha256: await sha256Hex(png),
        width: side,
        height: side,
      };
    }),
  );
  const version = call.url.pathname.startsWith(`/v${PROTOCOL_VERSION}/`) ? PROTOCOL_VERSION : 1;
  return poolResponseIn(version, { bundle: body.bundle, images });
}

export const renders: PoolHandler = async (call) => Response.json(await renderedResponse(call));

export class FakePool {
  readonly calls: PoolCall[] = [];
  handler: PoolHandler = renders;
  /** GET /readyz of a runner, by host (unsigned, like the real one). */
  readiness: (host: string) => Response = () =>
    Response.json({ ready: true, bundle: servedBundle.id });
  #spy: ReturnType<typeof vi.spyOn> | undefined;

  install(): this {
    const original = globalThis.fetch;
    this.#spy = vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
      const request = new Request(input as RequestInfo, init as RequestInit);
      const url = new URL(request.url);
      if (!url.hostname.endsWith(".test")) return original(input as RequestInfo, init);
      if (request.method === "GET" && url.pathname === "/readyz") return this.readiness(url.host);
      const text = await request.text();
      const verdict = await verifyRequest(
        TEST_POOL_SECRET,
        { method: request.method, path: url.pathname, body: text },
        request.headers,
      );
      if (!verdict.ok) {
        return Response.json(
          {
            error: {
              message: verdict.reason,
              type: "authentication_error",
              param: null,
              code: null,
            },
          },
          { status: 401 },
        );
      }
      const body = JSON.parse(text) as Record<string, unknown>;
      schemas.get(url.pathname)?.parse(body);
      const call = { url, body, headers: request.headers };
      this.calls.push(call);
      return this.handler(call, init?.signal ?? request.signal);
    });
    return this;
  }

  restore(): void {
    this.#spy?.mockRestore();
  }
}

/** A response that never arrives before the request is aborted. */
export const hangs: PoolHandler = (_call, signal) =>
  new Promise((_, reject) => {
    signal?.addEventListener("abort", () => reject(signal.reason));
  });

export const busy =
  (retryAfterSeconds: number): PoolHandler =>
  async () =>
    Response.json(
      { error: { message: "queue full", type: "server_error", param: null, code: "queue_full" } },
      { status: 503, headers: { "retry-after": String(retryAfterSeconds) } },
    );

export const unreachable: PoolHandler = async () => {
  throw new TypeError("fetch failed: connection refused");
};

export const delayed =
  (ms: number, inner: PoolHandler = renders): PoolHandler =>
  async (call, signal) => {
    await new Promise((resolve) => setTimeout(resolve, ms));
    return inner(call, signal);
  };
