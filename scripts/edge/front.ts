// The local stand-in for Cloudflare's front end: Node's strict HTTP parser reads every request
// before the Worker does, and a message whose framing lies or is invalid (a negative or doubled
// Content-Length, a bad chunk) is refused with a 400 OpenAI error, as Cloudflare refuses it
// before any Worker runs. workerd's own HTTP server answers some of these with a plain-text
// 500. Well-formed requests reach the Worker whole (see readBody); its answers stream back.
import {
  createServer,
  request as httpRequest,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type OutgoingHttpHeaders,
  type Server,
  type ServerResponse,
} from "node:http";
import type { Socket } from "node:net";
import { pipeline } from "node:stream";

/** Headers about one connection, not the message: never forwarded (RFC 9110 §7.6.1). */
const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "te",
  "trailer",
  "upgrade",
]);

function endToEnd(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const named = new Set(
    String(headers.connection ?? "")
      .split(",")
      .map((name) => name.trim().toLowerCase()),
  );
  const kept: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined && !HOP_BY_HOP.has(name) && !named.has(name)) kept[name] = value;
  }
  return kept;
}

function openAiError(message: string, type: string, code: string): string {
  return JSON.stringify({ error: { message, type, param: null, code } });
}

/** What the parser's error codes mean to a client (Node's own defaults: 431, 408, else 400). */
function refusalFor(error: NodeJS.ErrnoException): { status: string; body: string } {
  if (error.code === "HPE_HEADER_OVERFLOW") {
    return {
      status: "431 Request Header Fields Too Large",
      body: openAiError(
        "The request headers are too large.",
        "invalid_request_error",
        "headers_too_large",
      ),
    };
  }
  if (error.code === "ERR_HTTP_REQUEST_TIMEOUT") {
    return {
      status: "408 Request Timeout",
      body: openAiError(
        "The request was not received in time.",
        "invalid_request_error",
        "request_timeout",
      ),
    };
  }
  return {
    status: "400 Bad Request",
    body: openAiError(
      `Malformed HTTP request (${error.code ?? "parse error"}): its framing headers or body encoding are invalid.`,
      "invalid_request_error",
      "malformed_http_request",
    ),
  };
}

function refuseMalformed(error: NodeJS.ErrnoException, socket: Socket): void {
  // A response already under way can't be replaced; the client gets a closed connection.
  const answering = (socket as Socket & { _httpMessage?: ServerResponse })._httpMessage;
  if (error.code === "ECONNRESET" || !socket.writable || answering?.headersSent) {
    socket.destroy();
    return;
  }
  const { status, body } = refusalFor(error);
  socket.end(
    `HTTP/1.1 ${status}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
}

/** Far above any body the API takes (a 4 MB PNG in a multipart form); bigger is refused here. */
export const MAX_FRONT_BODY_BYTES = 32 * 1024 * 1024;

/**
 * Reads the whole body before the Worker sees the request. workerd closes a connection when
 * the Worker answers without reading the body (a 401 or 404), and body bytes still arriving
 * then made the kernel reset the connection, destroying the answer before it was read (2 % of
 * the fuzz requests straight to workerd); sent whole, right behind its head, none was lost in
 * the fuzz or with 3 MB bodies. A client that leaves mid-body never reaches the Worker.
 */
function readBody(req: IncomingMessage): Promise<Buffer | "too large" | "incomplete"> {
  return new Promise((resolveBody) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.byteLength;
      if (size > MAX_FRONT_BODY_BYTES) {
        req.removeAllListeners("data");
        req.resume();
        resolveBody("too large");
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => resolveBody(Buffer.concat(chunks)));
    req.on("error", () => resolveBody("incomplete"));
    req.on("close", () => {
      if (!req.complete) resolveBody("incomplete");
    });
  });
}

function sendError(res: ServerResponse, status: number, body: string): void {
  if (res.headersSent || res.destroyed) {
    res.destroy();
    return;
  }
  res
    .writeHead(status, {
      "content-type": "application/json",
      "content-length": Buffer.byteLength(body),
    })
    .end(body);
}

async function forward(upstream: URL, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const body = await readBody(req);
  if (body === "incomplete") {
    res.destroy();
    return;
  }
  if (body === "too large") {
    const message = `Request body too large: the limit is ${MAX_FRONT_BODY_BYTES} bytes.`;
    sendError(res, 413, openAiError(message, "invalid_request_error", "request_too_large"));
    return;
  }
  const headers = endToEnd(req.headers);
  if (body.byteLength > 0 || req.headers["content-length"] !== undefined) {
    headers["content-length"] = body.byteLength;
  }
  const toWorker = httpRequest(
    {
      hostname: upstream.hostname,
      port: upstream.port,
      method: req.method,
      path: req.url,
      // Host stays the client's: the Worker builds its image URLs from it.
      headers,
      // A connection per request: no pooled socket that workerd closed while it sat idle.
      agent: false,
    },
    (answer) => {
      try {
        res.writeHead(answer.statusCode ?? 502, answer.statusMessage, endToEnd(answer.headers));
      } catch {
        // A header Node refuses to send: the client gets a closed connection, not a crash.
        answer.destroy();
        res.destroy();
        return;
      }
      // A client gone mid-answer destroys `answer`, which cancels the Worker's response stream.
      pipeline(answer, res, () => {});
    },
  );
  toWorker.on("error", (error) => {
    const message = `The local Worker runtime did not answer: ${error.message}`;
    sendError(res, 502, openAiError(message, "server_error", "edge_unavailable"));
  });
  // A client that leaves before the answer cancels the Worker's request.
  res.on("close", () => {
    if (!res.writableFinished) toWorker.destroy();
  });
  toWorker.end(body);
}

/** Serves on `host:port`, forwarding to the Worker runtime at `upstream`. */
export async function startFront(host: string, port: number, upstream: URL): Promise<Server> {
  const server = createServer((req, res) => void forward(upstream, req, res));
  server.on("clientError", refuseMalformed);
  await new Promise<void>((resolveListening, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolveListening();
    });
  });
  return server;
}
