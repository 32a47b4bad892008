// Helpers for the cross-part tests: talking to the edge and reading a runner's metrics.
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll } from "vitest";
import { grantQuery, signImageObject } from "../edge/src/storage/signedUrl.ts";
import { LOCAL_API_KEY, type Stack, startStack } from "../scripts/stack.ts";

/** wrangler.toml's local IMAGE_URL_SECRET: tests sign image URLs the way the edge does. */
export const LOCAL_IMAGE_URL_SECRET = "dev-image-url-secret-local-only";

/** A fresh signed URL for a stored image, for tests that look objects up by cache key. */
export async function signedImageUrl(edgeUrl: string, key: string, index: number) {
  const name = `${key}/${index}.png`;
  const grant = await signImageObject(LOCAL_IMAGE_URL_SECRET, name, 600);
  return `${edgeUrl}/v1/images/${name}?${grantQuery(grant)}`;
}

export const PNG_MAGIC = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

export function authHeaders(key = LOCAL_API_KEY): Record<string, string> {
  return { authorization: `Bearer ${key}` };
}

export async function postJson(
  edgeUrl: string,
  path: string,
  body: unknown,
  headers: Record<string, string> = authHeaders(),
): Promise<Response> {
  return fetch(`${edgeUrl}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

/** Sum of a Prometheus metric's samples (all label sets) on a runner. */
export async function metricValue(runnerUrl: string, name: string): Promise<number> {
  const text = await (await fetch(`${runnerUrl}/metrics`)).text();
  let total = 0;
  for (const line of text.split("\n")) {
    if (line.startsWith("#")) continue;
    const match = line.match(/^([a-zA-Z_:][\w:]*)(\{[^}]*\})?\s+(\S+)/);
    if (match && match[1] === name) total += Number(match[3]);
  }
  return total;
}

export function isPng(bytes: Uint8Array): boolean {
  return PNG_MAGIC.every((b, i) => bytes[i] === b);
}

/** A PNG header (signature + IHDR) claiming the given size, with no pixel data after it. */
export function pngHeader(width: number, height: number): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(33);
  bytes.set(PNG_MAGIC, 0);
  const view = new DataView(bytes.buffer);
  view.setUint32(8, 13);
  bytes.set([0x49, 0x48, 0x44, 0x52], 12);
  view.setUint32(16, width);
  view.setUint32(20, height);
  bytes.set([8, 6, 0, 0, 0], 24);
  return bytes;
}

export function uniqueSeed(): number {
  return Math.floor(Math.random() * 4_000_000_000);
}

/** The JSON lines a process of the shared stack has logged so far (tests/globalSetup.ts). */
export function jsonLogLines(logDir: string, process: string): Record<string, unknown>[] {
  const path = `${logDir}/${process}.log`;
  if (!existsSync(path)) return [];
  return readFileSync(path, "utf8")
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .flatMap((line) => {
      try {
        return [JSON.parse(line) as Record<string, unknown>];
      } catch {
        return [];
      }
    });
}

/** Waits (up to 10 s) for a log line of `process` that matches; log writes trail answers. */
export async function logLineWhere(
  logDir: string,
  process: string,
  matches: (line: Record<string, unknown>) => boolean,
): Promise<Record<string, unknown>> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const found = jsonLogLines(logDir, process).find(matches);
    if (found) return found;
    if (Date.now() > deadline) throw new Error(`no ${process} log line matched within 10 s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * For a fault test file: starts stacks of its own (tiny bundle, state in `<runDir>/<prefix>…`,
 * the run's folder from `inject("stateDir")`), all stopped and removed after the file.
 */
export function ownStacks(runDir: string, prefix: string) {
  const stacks: Array<{ stack: Stack; dir: string }> = [];
  afterAll(async () => {
    for (const { stack, dir } of stacks) {
      await stack.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
  return async (options: Parameters<typeof startStack>[0]): Promise<Stack> => {
    const dir = mkdtempSync(join(runDir, prefix));
    const stack = await startStack({ bundle: "models/tiny-test", stateDir: dir, ...options });
    stacks.push({ stack, dir });
    return stack;
  };
}
