// The local workerd's V8 inspector as a measuring tool (scripts/edge-soak.ts): forces a full
// GC in every isolate of the process (the Worker's, Miniflare's entry Worker, the local R2/KV/
// Durable Object services) and reads each isolate's heap, over the Chrome DevTools Protocol.

interface InspectorTarget {
  id: string;
  webSocketDebuggerUrl: string;
}

interface HeapUsage {
  usedSize: number;
  totalSize: number;
  /** cppgc: the C++ objects behind Request, Response, Headers, streams… */
  embedderHeapUsedSize?: number;
}

/** One isolate's heap, in bytes. */
export interface IsolateHeap {
  isolate: string;
  used: number;
  total: number;
  embedder: number;
}

class InspectorSession {
  readonly #socket: WebSocket;
  /** Calls awaiting their reply; a refused call or a closed socket fails them (never a hang). */
  readonly #pending = new Map<
    number,
    { answered: (result: unknown) => void; failed: (e: Error) => void }
  >();
  #nextId = 0;

  private constructor(
    readonly isolate: string,
    socket: WebSocket,
  ) {
    this.#socket = socket;
    socket.onmessage = (message) => {
      const reply = JSON.parse(String(message.data)) as {
        id?: number;
        result?: unknown;
        error?: { message: string };
      };
      if (reply.id === undefined) return; // an event: none is enabled, none is wanted
      const call = this.#pending.get(reply.id);
      this.#pending.delete(reply.id);
      if (reply.error) call?.failed(new Error(`inspector ${isolate}: ${reply.error.message}`));
      else call?.answered(reply.result);
    };
    socket.onclose = () => {
      for (const call of this.#pending.values())
        call.failed(new Error(`inspector ${isolate}: closed before it answered`));
      this.#pending.clear();
    };
  }

  static async open(target: InspectorTarget): Promise<InspectorSession> {
    const socket = new WebSocket(target.webSocketDebuggerUrl);
    await new Promise((opened, failed) => {
      socket.onopen = opened;
      socket.onerror = () => failed(new Error(`inspector: cannot attach to ${target.id}`));
    });
    return new InspectorSession(target.id, socket);
  }

  send<T>(method: string): Promise<T> {
    const id = ++this.#nextId;
    return new Promise((answered, failed) => {
      // A closing or closed WebSocket drops what is sent without an error. Once closed, onclose
      // has already failed the calls it knew of, so this one would wait forever; while closing,
      // onclose would fail it later, but there is no reason to send and wait.
      if (this.#socket.readyState !== WebSocket.OPEN) {
        failed(new Error(`inspector ${this.isolate}: closed before ${method}`));
        return;
      }
      this.#pending.set(id, { answered: answered as (result: unknown) => void, failed });
      this.#socket.send(JSON.stringify({ id, method, params: {} }));
    });
  }

  /** Closes the socket; resolves once it is closed (its pending calls have failed by then). */
  close(): Promise<void> {
    if (this.#socket.readyState === WebSocket.CLOSED) return Promise.resolve();
    const closed = new Promise<void>((done) =>
      this.#socket.addEventListener("close", () => done(), { once: true }),
    );
    this.#socket.close();
    return closed;
  }
}

export interface WorkerdInspector {
  /** Every isolate's name, e.g. `core:user:unclip-edge-dev`, `core:entry`. */
  isolates: string[];
  /**
   * Asks every isolate for a full GC and waits for those that did it. workerd runs the GC as a
   * task of the isolate, so only when the isolate next handles an event: `touch` sends
   * requests that reach the isolates; one not reached within `timeoutMs` is left out of the
   * answer (its name is returned among `missed`).
   */
  collectGarbage(touch: () => Promise<void>, timeoutMs?: number): Promise<{ missed: string[] }>;
  heaps(): Promise<IsolateHeap[]>;
  close(): Promise<void>;
}

/** Attaches to every isolate of the workerd whose inspector listens on `port` (loopback). */
export async function attachWorkerdInspector(port: number): Promise<WorkerdInspector> {
  const listing = await fetch(`http://127.0.0.1:${port}/json/list`);
  const targets = (await listing.json()) as InspectorTarget[];
  const sessions = await Promise.all(targets.map((target) => InspectorSession.open(target)));
  return {
    isolates: sessions.map((session) => session.isolate),
    async collectGarbage(touch, timeoutMs = 5000) {
      const done = new Set<string>();
      const collected = sessions.map((session) =>
        // an isolate whose call failed is reported among `missed`, like one that never ran it
        session.send("HeapProfiler.collectGarbage").then(
          () => done.add(session.isolate),
          () => undefined,
        ),
      );
      await touch();
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.all(collected),
        new Promise((expired) => {
          timer = setTimeout(expired, timeoutMs);
        }),
      ]);
      clearTimeout(timer);
      return { missed: sessions.map((s) => s.isolate).filter((isolate) => !done.has(isolate)) };
    },
    async heaps() {
      return Promise.all(
        sessions.map(async (session) => {
          const usage = await session.send<HeapUsage>("Runtime.getHeapUsage");
          return {
            isolate: session.isolate,
            used: usage.usedSize,
            total: usage.totalSize,
            embedder: usage.embedderHeapUsedSize ?? 0,
          };
        }),
      );
    },
    async close() {
      await Promise.all(sessions.map((session) => session.close()));
    },
  };
}
