// Generated hostile requests for the edge (fast-check arbitraries) and the check every answer
// must pass: never a 5xx, and every non-success is a well-formed OpenAI error object.
import { connect } from "node:net";
import fc from "fast-check";
import { LOCAL_API_KEY } from "../../scripts/stack.ts";
import { PNG_MAGIC, pngHeader } from "../support.ts";

export interface HostileRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string | Uint8Array;
  /** Streams: the client goes away this many ms after sending (the answer is not judged). */
  abortAfterMs?: number;
}

const paths = fc.oneof(
  fc.constantFrom(
    "/v1/images/generations",
    "/v1/images/variations",
    "/v1/images/edits",
    "/v1/images/interpolations",
    "/v1/jobs/job_x",
    "/v1/jobs/job_x/events",
    `/v1/images/${"a".repeat(64)}/0.png`,
    `/v1/images/${"a".repeat(64)}/0.png?expires=99999999999&signature=${"0".repeat(64)}`,
    `/v1/images/${"a".repeat(64)}/0.png?expires=-1&signature=x&expires=2`,
    `/v1/images/${"a".repeat(64)}/0-q80.webp?expires=99999999999&signature=${"0".repeat(64)}`,
    `/v1/images/${"a".repeat(64)}/0-q101.jpeg`,
    `/v1/images/${"a".repeat(64)}/0.gif`,
    "/v1/models",
    "/v1/models/dall-e-2",
    "/v1/models/%00",
    "/openapi.json",
    "/",
  ),
  fc.string({ maxLength: 40 }).map((s) => `/v1/${encodeURIComponent(s)}`),
  fc.webPath(),
);

const unicodeEdge = fc.oneof(
  fc.string({ unit: "grapheme", maxLength: 50 }),
  fc.string({ unit: "binary", maxLength: 50 }),
  fc.constantFrom(
    "\u0000",
    "\uFEFF",
    "\u202E red circle",
    "e\u0301",
    "ﬁ",
    "𝕒 𝕣𝕖𝕕",
    "\uD800",
    "  ",
    "\n\t",
  ),
  fc.string({ minLength: 990, maxLength: 1010 }),
);

const wrongType = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.double(),
  fc.integer(),
  fc.constantFrom(Number.MAX_SAFE_INTEGER, -1, 1e308, 0.5),
  unicodeEdge,
  fc.array(fc.anything(), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.anything(), { maxKeys: 3 }),
);

/** Our fields with mostly wrong values, so few requests are valid enough to render. */
const generationLike = fc.record(
  {
    prompt: fc.oneof(unicodeEdge, wrongType),
    n: fc.oneof(fc.integer({ min: -5, max: 20 }), wrongType),
    size: fc.oneof(
      fc.constantFrom("256x256", "64x64", "0x0", "1x1", "99999x99999", "256X256"),
      wrongType,
    ),
    response_format: fc.oneof(fc.constantFrom("url", "b64_json", "URL"), wrongType),
    seed: fc.oneof(fc.integer(), wrongType),
    steps: fc.oneof(fc.integer({ min: -2, max: 2000 }), wrongType),
    prior_guidance_scale: wrongType,
    decoder_guidance_scale: wrongType,
    async: wrongType,
    frames: wrongType,
    target_prompt: fc.oneof(unicodeEdge, wrongType),
    mode: wrongType,
    stream: fc.oneof(fc.boolean(), wrongType),
    partial_images: fc.oneof(fc.integer({ min: -1, max: 5 }), wrongType),
    output_format: fc.oneof(
      fc.constantFrom("png", "webp", "jpeg", "gif", "svg", "bmp", "JPEG"),
      wrongType,
    ),
    output_compression: fc.oneof(fc.integer({ min: -10, max: 120 }), wrongType),
    background: fc.oneof(fc.constantFrom("auto", "opaque", "transparent"), wrongType),
    __proto__: fc.constant({ polluted: true }),
  },
  { requiredKeys: [] },
);

const jsonBody = fc.oneof(
  generationLike.map((o) => JSON.stringify(o)),
  fc.json({ maxDepth: 4 }),
  fc.string({ maxLength: 200 }),
  fc.constantFrom(
    "",
    "{",
    "[",
    "null",
    '{"prompt":',
    '{"prompt":"a"}}',
    "\u0000",
    '{"prompt":"a","prompt":5}',
  ),
  fc
    .integer({ min: 1_000_000, max: 1_200_000 })
    .map((n) => JSON.stringify({ prompt: "a".repeat(n) })),
);

const brokenPng = fc.oneof(
  fc.uint8Array({ maxLength: 200 }),
  fc.uint8Array({ maxLength: 200 }).map((tail) => new Uint8Array([...PNG_MAGIC, ...tail])),
  fc
    .tuple(fc.integer({ min: 0, max: 2 ** 31 - 1 }), fc.integer({ min: 0, max: 2 ** 31 - 1 }))
    .map(([w, h]) => pngHeader(w, h)),
  fc.constant(pngHeader(64, 64)),
);

const multipartBody = fc
  .tuple(
    fc.constantFrom("xyz", "----b", ""),
    fc.oneof(fc.constantFrom("image", "mask"), fc.string({ maxLength: 10 })),
    brokenPng,
    fc.constantFrom("image/png", "image/gif", "", "text/plain"),
    fc.boolean(),
    fc.dictionary(
      fc.constantFrom(
        "n",
        "size",
        "response_format",
        "seed",
        "steps",
        "prompt",
        "x",
        "stream",
        "partial_images",
        "output_format",
        "output_compression",
      ),
      fc.string({ maxLength: 20 }),
      {
        maxKeys: 3,
      },
    ),
  )
  .map(([boundary, field, bytes, type, closed, fields]) => {
    const enc = new TextEncoder();
    const parts: Uint8Array[] = [];
    for (const [name, value] of Object.entries(fields)) {
      parts.push(
        enc.encode(
          `--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`,
        ),
      );
    }
    parts.push(
      enc.encode(
        `--${boundary}\r\nContent-Disposition: form-data; name="${field}"; filename="x.png"\r\nContent-Type: ${type}\r\n\r\n`,
      ),
    );
    parts.push(bytes);
    if (closed) parts.push(enc.encode(`\r\n--${boundary}--\r\n`));
    const body = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) {
      body.set(p, at);
      at += p.length;
    }
    return { boundary, body };
  });

const authHeader = fc.oneof(
  fc.constant({ authorization: `Bearer ${LOCAL_API_KEY}` }),
  fc.constant({ authorization: `Bearer ${LOCAL_API_KEY}` }),
  fc.constant({}),
  fc
    .constantFrom(
      "Bearer",
      "Basic abc",
      `bearer ${LOCAL_API_KEY}`,
      `Bearer ${LOCAL_API_KEY} extra`,
      "Bearer \u00ff",
    )
    .map((v) => ({ authorization: v })),
);

const contentType = fc.constantFrom(
  "application/json",
  "application/json; charset=utf-8",
  "text/plain",
  "application/x-www-form-urlencoded",
  "multipart/form-data",
  "application/JSON",
  "",
);

/** Valid streamed generations whose client goes away at some point of the stream. */
const abortedStream = fc
  .record({
    prompt: fc.constantFrom("a red circle", "two blue squares", "a smiling face"),
    seed: fc.integer({ min: 0, max: 1000 }),
    partial_images: fc.integer({ min: 0, max: 3 }),
    output_format: fc.constantFrom("png", "webp", "jpeg"),
    steps: fc.integer({ min: 2, max: 20 }),
    abortAfterMs: fc.integer({ min: 1, max: 400 }),
  })
  .map(({ abortAfterMs, ...fields }) => ({
    method: "POST",
    path: "/v1/images/generations",
    headers: { authorization: `Bearer ${LOCAL_API_KEY}`, "content-type": "application/json" },
    body: JSON.stringify({ ...fields, stream: true }),
    abortAfterMs,
  }));

export const hostileRequest: fc.Arbitrary<HostileRequest> = fc.oneof(
  { weight: 1, arbitrary: abortedStream },
  {
    weight: 5,
    arbitrary: fc
      .tuple(
        fc.constantFrom("POST", "POST", "PUT", "GET", "DELETE", "PATCH"),
        paths,
        authHeader,
        contentType,
        jsonBody,
      )
      .map(([method, path, auth, type, body]) => ({
        method,
        path,
        headers: { ...auth, ...(type ? { "content-type": type } : {}) },
        body: method === "GET" ? undefined : body,
      })),
  },
  {
    weight: 3,
    arbitrary: fc
      .tuple(
        fc.constantFrom("/v1/images/variations", "/v1/images/edits"),
        authHeader,
        multipartBody,
        fc.boolean(),
      )
      .map(([path, auth, { boundary, body }, honest]) => ({
        method: "POST",
        path,
        headers: {
          ...auth,
          "content-type": honest
            ? `multipart/form-data; boundary=${boundary}`
            : "multipart/form-data; boundary=other",
        },
        body,
      })),
  },
  {
    weight: 1,
    arbitrary: fc
      .tuple(
        fc.constantFrom("GET", "HEAD", "OPTIONS"),
        paths,
        authHeader,
        fc.constantFrom("http://127.0.0.1:5173", "https://evil.test", "null", "*", ""),
        fc.constantFrom("POST", "DELETE", ""),
      )
      .map(([method, path, auth, origin, preflight]) => ({
        method,
        path,
        headers: {
          ...auth,
          "if-none-match": '"x"',
          ...(origin ? { origin } : {}),
          ...(preflight ? { "access-control-request-method": preflight } : {}),
        },
      })),
  },
);

export interface Verdict {
  ok: boolean;
  status: number;
  reason?: string;
}

/** What every answer must be: no 5xx, and an OpenAI error object for every refusal. */
export async function judge(res: Response, method = "GET"): Promise<Verdict> {
  const bytes = new Uint8Array(await res.arrayBuffer());
  return judgeAnswer(res.status, res.headers.get("content-type") ?? "", bytes, method);
}

function judgeAnswer(status: number, type: string, bytes: Uint8Array, method: string): Verdict {
  if (status >= 500)
    return { ok: false, status, reason: new TextDecoder().decode(bytes.slice(0, 300)) };
  if (status < 400) return { ok: true, status };
  if (!type.includes("application/json"))
    return { ok: false, status, reason: `error with content-type ${type}` };
  if (method === "HEAD")
    return { ok: bytes.length === 0, status, reason: "HEAD answer with a body" };
  try {
    const body = JSON.parse(new TextDecoder().decode(bytes)) as { error?: Record<string, unknown> };
    const e = body.error;
    const wellFormed =
      e !== undefined &&
      typeof e.message === "string" &&
      e.message.length > 0 &&
      typeof e.type === "string" &&
      (e.param === null || typeof e.param === "string") &&
      (e.code === null || typeof e.code === "string");
    return wellFormed
      ? { ok: true, status }
      : { ok: false, status, reason: `malformed error ${JSON.stringify(body)}` };
  } catch {
    return { ok: false, status, reason: "error body is not JSON" };
  }
}

/** The payload of a chunked HTTP/1.1 body (RFC 9112 §7.1), as far as it arrived. */
function dechunked(bytes: Buffer): Buffer {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const lineEnd = bytes.indexOf("\r\n", at);
    if (lineEnd < 0) break;
    const size = Number.parseInt(bytes.subarray(at, lineEnd).toString("latin1"), 16);
    if (!(size > 0)) break;
    parts.push(bytes.subarray(lineEnd + 2, lineEnd + 2 + size));
    at = lineEnd + 2 + size + 2;
  }
  return Buffer.concat(parts);
}

/** How a raw request leaves the socket after its bytes are written. */
export type RawEnding =
  /** Waits for the answer with the connection open. */
  | "wait"
  /** Half-closes: the server sees the body end where the bytes end. */
  | "half-close"
  /** Resets the connection shortly after writing, without reading an answer. */
  | "abort";

/**
 * Requests whose framing lies or is broken — fetch refuses to send these, so they go over a
 * raw socket. A closed connection without an answer is a verdict of its own (status 0), which
 * the fuzz test accepts: it is what a server may do with a message it cannot frame.
 */
export async function sendRaw(
  edgeUrl: string,
  bytes: string | Uint8Array,
  ending: RawEnding = "wait",
): Promise<Verdict & { closedWithoutAnswer: boolean }> {
  const { hostname, port } = new URL(edgeUrl);
  const answer = await new Promise<Buffer>((resolve) => {
    const socket = connect(Number(port), hostname);
    const received: Buffer[] = [];
    const done = () => {
      socket.destroy();
      resolve(Buffer.concat(received));
    };
    socket.setTimeout(10_000, done);
    socket.on("data", (chunk: Buffer) => received.push(chunk));
    socket.on("error", done);
    socket.on("close", done);
    socket.write(bytes);
    if (ending === "half-close") socket.end();
    if (ending === "abort") setTimeout(() => socket.resetAndDestroy(), 50);
  });
  const text = answer.toString("latin1");
  const statusLine = text.match(/^HTTP\/1\.[01] (\d{3})/);
  const headEnd = text.indexOf("\r\n\r\n");
  if (!statusLine || headEnd < 0) return { ok: true, status: 0, closedWithoutAnswer: true };
  const head = text.slice(0, headEnd);
  const type = head.match(/^content-type:\s*(.*)$/im)?.[1] ?? "";
  let body = answer.subarray(headEnd + 4);
  if (/^transfer-encoding:\s*chunked/im.test(head)) body = dechunked(body);
  const verdict = judgeAnswer(Number(statusLine[1]), type, new Uint8Array(body), "POST");
  return { ...verdict, closedWithoutAnswer: false };
}

export async function send(edgeUrl: string, req: HostileRequest): Promise<Response> {
  return fetch(`${edgeUrl}${req.path}`, {
    method: req.method,
    headers: req.headers,
    body: req.body as BodyInit | undefined,
    signal: AbortSignal.timeout(req.abortAfterMs ?? 60_000),
  });
}

export async function runFuzz(edgeUrl: string, count: number, seed: number, concurrency = 8) {
  const requests = fc.sample(hostileRequest, { numRuns: count, seed });
  const failures: Array<{ request: HostileRequest; verdict: Verdict }> = [];
  const byStatus = new Map<number, number>();
  let next = 0;
  const worker = async () => {
    while (next < requests.length) {
      const request = requests[next++];
      let verdict: Verdict;
      try {
        verdict = await judge(await send(edgeUrl, request), request.method);
      } catch (error) {
        // A client that leaves mid-stream expects no answer; the stack must just keep serving.
        verdict =
          request.abortAfterMs !== undefined && (error as Error).name === "TimeoutError"
            ? { ok: true, status: 0 }
            : { ok: false, status: 0, reason: `no answer: ${(error as Error).message}` };
      }
      byStatus.set(verdict.status, (byStatus.get(verdict.status) ?? 0) + 1);
      if (!verdict.ok) failures.push({ request, verdict });
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { failures, byStatus };
}
