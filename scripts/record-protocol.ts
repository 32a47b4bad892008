// Records the edge ↔ pool protocol as it is spoken today: a real runner on the tiny bundle, the
// real edge (Miniflare) and a recording proxy between them. Every exchange the edge's pool
// client makes is saved byte for byte (signed request, answer) as a fixture for the
// compatibility test (tests/protocol-compat.e2e.test.ts). Run it before changing the protocol, so
// the previous version's requests and answers stay on file:
//   npx tsx scripts/record-protocol.ts tests/fixtures/protocol-v1
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage } from "node:http";
import { join, resolve } from "node:path";
import { encode } from "fast-png";
import {
  freePort,
  LOCAL_API_KEY,
  LOCAL_POOL_SECRET,
  REPO_ROOT,
  startEdge,
  startRunner,
  stopProcess,
} from "./stack.ts";

export interface RecordedExchange {
  /** What the edge asked for, as the client API names it. */
  name: string;
  /** The secret the request was signed with (the local development one). */
  secret: string;
  request: { method: string; path: string; headers: Record<string, string>; body: string };
  answer: { status: number; headers: Record<string, string>; body: string };
}

const KEPT_REQUEST_HEADERS = ["content-type", "accept", "x-unclip-timestamp", "x-unclip-signature"];
const KEPT_ANSWER_HEADERS = ["content-type", "retry-after"];

if (!process.argv[2]) {
  console.error("usage: npx tsx scripts/record-protocol.ts tests/fixtures/protocol-v<N>");
  process.exit(2);
}
const outDir = resolve(REPO_ROOT, process.argv[2]);
const bundle = resolve(REPO_ROOT, "models/tiny-test");
const stateDir = resolve(REPO_ROOT, ".state/record-protocol");
rmSync(stateDir, { recursive: true, force: true });
mkdirSync(stateDir, { recursive: true });
mkdirSync(outDir, { recursive: true });

const readBody = (req: IncomingMessage) =>
  new Promise<string>((done, fail) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => done(Buffer.concat(chunks).toString("utf8")));
    req.on("error", fail);
  });

const runnerPort = await freePort();
const proxyPort = await freePort();
const edgePort = await freePort();
const runner = startRunner(runnerPort, bundle);
let current = "unnamed";
const recorded: RecordedExchange[] = [];

// The proxy forwards each call unchanged and keeps the whole answer before passing it on.
const proxy = createServer(async (req, res) => {
  const body = await readBody(req);
  const headers: Record<string, string> = {};
  for (const name of KEPT_REQUEST_HEADERS) {
    const value = req.headers[name];
    if (typeof value === "string") headers[name] = value;
  }
  const answer = await fetch(`${runner.url}${req.url}`, {
    method: req.method,
    headers,
    body: req.method === "POST" ? body : undefined,
  });
  const answerBody = await answer.text();
  const answerHeaders: Record<string, string> = {};
  for (const name of KEPT_ANSWER_HEADERS) {
    const value = answer.headers.get(name);
    if (value !== null) answerHeaders[name] = value;
  }
  if (req.method === "POST") {
    recorded.push({
      name: current,
      secret: LOCAL_POOL_SECRET,
      request: { method: req.method ?? "POST", path: req.url ?? "/", headers, body },
      answer: { status: answer.status, headers: answerHeaders, body: answerBody },
    });
  }
  res.writeHead(answer.status, answerHeaders);
  res.end(answerBody);
});
await new Promise<void>((r) => proxy.listen(proxyPort, "127.0.0.1", r));

const edge = startEdge(edgePort, bundle, stateDir, {
  POOL_URL: `http://127.0.0.1:${proxyPort}`,
  POOL_MAX_ATTEMPTS: "1",
});
const edgeUrl = edge.url;

async function waitFor(url: string): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (edge.child.exitCode !== null || runner.child.exitCode !== null) break;
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${url} never answered:\n${edge.log.join("")}\n${runner.log.join("")}`);
}

function png(side: number, holeInAlpha: boolean): Uint8Array {
  const data = new Uint8Array(side * side * 4);
  for (let p = 0; p < side * side; p++) {
    const [x, y] = [p % side, Math.floor(p / side)];
    const hole =
      holeInAlpha && x >= side / 4 && x < (3 * side) / 4 && y >= side / 4 && y < side / 2;
    data.set([x * 8, y * 8, 100, hole ? 0 : 255], p * 4);
  }
  return encode({ width: side, height: side, data, channels: 4, depth: 8 });
}

const auth = { authorization: `Bearer ${LOCAL_API_KEY}` };

async function post(name: string, path: string, body: BodyInit, json: boolean): Promise<unknown> {
  current = name;
  const res = await fetch(`${edgeUrl}${path}`, {
    method: "POST",
    headers: json ? { ...auth, "content-type": "application/json" } : auth,
    body,
  });
  const answer = await res.json();
  if (!res.ok && res.status !== 202) {
    throw new Error(`${name}: ${res.status} ${JSON.stringify(answer)}`);
  }
  return answer;
}

const form = (fields: Record<string, string | Uint8Array>) => {
  const data = new FormData();
  for (const [name, value] of Object.entries(fields)) {
    if (typeof value === "string") data.append(name, value);
    else data.append(name, new Blob([value as BlobPart], { type: "image/png" }), `${name}.png`);
  }
  return data;
};

try {
  await Promise.all([waitFor(`${runner.url}/readyz`), waitFor(`${edgeUrl}/healthz`)]);
  const size = "32x32";
  await post(
    "generation",
    "/v1/images/generations",
    JSON.stringify({ prompt: "a red circle", n: 2, size, seed: 11, response_format: "b64_json" }),
    true,
  );
  await post(
    "variation",
    "/v1/images/variations",
    form({ image: png(32, false), n: "1", size, seed: "12" }),
    false,
  );
  await post(
    "edit",
    "/v1/images/edits",
    form({ image: png(32, false), mask: png(32, true), prompt: "a blue square", size, seed: "13" }),
    false,
  );
  await post(
    "interpolation",
    "/v1/images/interpolations",
    JSON.stringify({
      prompt: "a red circle",
      target_prompt: "a blue square",
      frames: 3,
      size,
      seed: 14,
    }),
    true,
  );
  // An async job: the edge asks the runner for server-sent progress events.
  const job = (await post(
    "generation-events",
    "/v1/images/generations",
    JSON.stringify({ prompt: "a green star", n: 1, size, seed: 15, async: true }),
    true,
  )) as { id: string };
  for (let i = 0; i < 240; i++) {
    const status = (await (
      await fetch(`${edgeUrl}/v1/jobs/${job.id}`, { headers: auth })
    ).json()) as {
      status: string;
    };
    if (status.status !== "queued" && status.status !== "running") break;
    await new Promise((r) => setTimeout(r, 250));
  }
  for (const exchange of recorded) {
    const file = join(outDir, `${exchange.name}.json`);
    writeFileSync(file, `${JSON.stringify(exchange, null, 2)}\n`);
    console.log(`${file}: ${exchange.request.path} → ${exchange.answer.status}`);
  }
  if (recorded.length !== 5) throw new Error(`expected 5 pool calls, recorded ${recorded.length}`);
} finally {
  proxy.close();
  await Promise.all([stopProcess(edge), stopProcess(runner)]);
  rmSync(stateDir, { recursive: true, force: true });
}
